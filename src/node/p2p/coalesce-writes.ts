// One socket write per turn of the event loop for each libp2p TCP connection, instead of one
// per buffer. Noise hands the TCP connection each yamux frame as a list of buffers (a 2-byte
// length, the ciphertext of the frame header, of its data, and the tag), and @libp2p/tcp writes
// them one `socket.write` at a time: on loopback each is a syscall and a TCP segment, ~4 per
// forwarded query on each side (strace), and `writeBuffer` was ~5% of a router's CPU at c=64.
// Corking the socket while a turn sends and uncorking it on the next tick turns them into one
// writev, as node's own http2 session does. The buffers are not copied, and back-pressure is
// unchanged (write() still reports the buffered bytes against the high-water mark).
import { Socket } from 'node:net';
import { tcp, type TCPOptions } from '@libp2p/tcp';
import type { CreateListenerOptions, DialTransportOptions, MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';

type TcpComponents = Parameters<ReturnType<typeof tcp>>[0];
type SendData = (data: unknown) => unknown;
type SendReset = (...args: unknown[]) => unknown;

/**
 * Wraps `maConn.sendData` so every send of one tick is written in one syscall. Returns false
 * (and changes nothing) when `maConn` is not a TCP connection of the shape @libp2p/tcp makes;
 * test/node/p2p/coalesce-writes.test.ts pins that shape to the installed version.
 */
export function coalesceWrites(maConn: MultiaddrConnection): boolean {
  const conn = maConn as unknown as { socket?: unknown; sendData?: SendData; sendReset?: SendReset };
  const socket = conn.socket;
  const send = conn.sendData;
  const reset = conn.sendReset;
  if (!(socket instanceof Socket) || typeof send !== 'function' || typeof reset !== 'function') return false;
  let corked = false;
  const flush = (): void => {
    if (!corked) return;
    corked = false;
    socket.uncork();
  };
  conn.sendData = (data: unknown): unknown => {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(flush);
    }
    return send.call(maConn, data);
  };
  // A reset destroys the socket, which would drop what this tick sent: write it first, as it
  // was written before. (A graceful close ends the socket, which flushes it anyway.)
  conn.sendReset = (...args: unknown[]): unknown => {
    flush();
    return reset.apply(maConn, args);
  };
  return true;
}

/** The upgrader with each raw connection's writes coalesced before it is upgraded. */
function coalescingUpgrader(upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get(target, key, receiver): unknown {
      if (key === 'upgradeInbound' || key === 'upgradeOutbound') {
        const upgrade = (Reflect.get(target, key) as (maConn: MultiaddrConnection, opts: unknown) => Promise<unknown>).bind(target);
        return (maConn: MultiaddrConnection, opts: unknown) => {
          coalesceWrites(maConn);
          return upgrade(maConn, opts);
        };
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

/** @libp2p/tcp's transport, its connections' writes coalesced (coalesceWrites). */
export function coalescingTcp(init?: TCPOptions): (components: TcpComponents) => Transport {
  const make = tcp(init);
  return (components) => {
    const transport = make(components);
    const dial = transport.dial.bind(transport);
    const createListener = transport.createListener.bind(transport);
    transport.dial = (ma: Multiaddr, options: DialTransportOptions) => dial(ma, { ...options, upgrader: coalescingUpgrader(options.upgrader) });
    transport.createListener = (options: CreateListenerOptions) => createListener({ ...options, upgrader: coalescingUpgrader(options.upgrader) });
    return transport;
  };
}
