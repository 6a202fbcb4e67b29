import { describe, it, expect, afterEach } from 'vitest';
import { connect, Socket } from 'node:net';
import { multiaddr } from '@multiformats/multiaddr';
import type { ComponentLogger, Listener, Logger, MultiaddrConnection, Upgrader } from '@libp2p/interface';
import { Uint8ArrayList } from 'uint8arraylist';
import { coalesceWrites, coalescingTcp } from '../../../src/node/p2p/coalesce-writes.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Counts the syscall-level writes a socket makes (`_write` for one buffer, `_writev` for several). */
function countWrites(socket: Socket): { writes: number; chunks: number } {
  const counts = { writes: 0, chunks: 0 };
  const s = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void };
  const write = s._write.bind(socket);
  const writev = s._writev.bind(socket);
  s._write = (...a: unknown[]) => { counts.writes++; counts.chunks++; write(...a); };
  s._writev = (chunks: unknown[], cb: unknown) => { counts.writes++; counts.chunks += chunks.length; writev(chunks, cb); };
  return counts;
}

function received(socket: Socket, bytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  return new Promise((resolve) => {
    socket.on('data', (b: Buffer) => {
      parts.push(b);
      n += b.byteLength;
      if (n >= bytes) resolve(Buffer.concat(parts));
    });
  });
}

/** Three sends of four buffers each in one tick, as Noise sends yamux frames. */
function sendBurst(send: (list: Uint8ArrayList) => unknown): Buffer {
  const all: Buffer[] = [];
  for (let i = 0; i < 3; i++) {
    const bufs = [0, 1, 2, 3].map((j) => Buffer.alloc(10 + j, 16 * i + j));
    all.push(...bufs);
    send(new Uint8ArrayList(...bufs));
  }
  return Buffer.concat(all);
}

describe('coalesceWrites', () => {
  it('turns the sends of one tick into one writev on a real TCP socket, bytes in order', async () => {
    const { server, client, accepted } = await socketPair();
    const counts = countWrites(client);
    const maConn = tcpLike(client);
    expect(coalesceWrites(maConn as unknown as MultiaddrConnection)).toBe(true);
    const sent = sendBurst((l) => maConn.sendData(l));
    expect((await received(accepted, sent.byteLength)).equals(sent)).toBe(true);
    expect(counts).toEqual({ writes: 1, chunks: 12 });
    // The next tick starts a new batch.
    sendBurst((l) => maConn.sendData(l));
    await new Promise((r) => setImmediate(r));
    expect(counts).toEqual({ writes: 2, chunks: 24 });
    server.close();
  });

  it('a reset in the same tick still sends what was sent before it', async () => {
    const { client, accepted } = await socketPair();
    const maConn = tcpLike(client);
    coalesceWrites(maConn as unknown as MultiaddrConnection);
    const got: Buffer[] = [];
    accepted.on('data', (b: Buffer) => got.push(b));
    const closed = new Promise((r) => { accepted.on('close', r); accepted.on('error', () => undefined); });
    const sent = sendBurst((l) => maConn.sendData(l));
    maConn.sendReset();
    await closed;
    expect(Buffer.concat(got).equals(sent)).toBe(true);
  });

  it('leaves anything that is not a TCP connection alone', () => {
    const other = { sendData: () => ({ sentBytes: 0, canSendMore: true }) };
    const before = other.sendData;
    expect(coalesceWrites(other as unknown as MultiaddrConnection)).toBe(false);
    expect(other.sendData).toBe(before);
  });
});

describe('coalescingTcp', () => {
  it("coalesces the writes of @libp2p/tcp's own connections (the installed version's shape)", async () => {
    const upgraded: MultiaddrConnection[] = [];
    const upgrader = { upgradeInbound: (maConn: MultiaddrConnection) => { upgraded.push(maConn); return Promise.resolve(); } } as unknown as Upgrader;
    const transport = coalescingTcp()({ logger: quietLogger() });
    const listener: Listener = transport.createListener({ upgrader });
    await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'));
    cleanups.push(() => listener.close());
    const port = Number(/\/tcp\/(\d+)/.exec(listener.getAddrs()[0]?.toString() ?? '')?.[1]);
    const peer = connect(port, '127.0.0.1');
    cleanups.push(() => { peer.destroy(); });
    await until(() => upgraded.length === 1);
    const maConn = upgraded[0] as MultiaddrConnection;
    const counts = countWrites((maConn as unknown as { socket: Socket }).socket);
    const sent = sendBurst((l) => maConn.send(l));
    expect((await received(peer, sent.byteLength)).equals(sent)).toBe(true);
    expect(counts.writes).toBe(1);
    maConn.abort(new Error('done'));
  });
});

/** libp2p's logger interface, printing nothing. */
function quietLogger(): ComponentLogger {
  const log: Logger = Object.assign(() => undefined, { enabled: false, error: () => undefined, trace: () => undefined, newScope: () => log });
  return { forComponent: () => log };
}

/** The part of @libp2p/tcp's connection that coalesceWrites wraps: one socket.write per buffer. */
function tcpLike(socket: Socket): { socket: Socket; sendData: (list: Uint8ArrayList) => unknown; sendReset: () => void } {
  return {
    socket,
    sendData(list: Uint8ArrayList) {
      for (const b of list) socket.write(b);
      return { sentBytes: list.byteLength, canSendMore: true };
    },
    sendReset() {
      socket.resetAndDestroy();
    },
  };
}

async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function socketPair(): Promise<{ server: import('node:net').Server; client: Socket; accepted: Socket }> {
  const { createServer } = await import('node:net');
  const server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  const client = connect(addr.port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const a = await accepted;
  cleanups.push(() => { client.destroy(); a.destroy(); server.close(); });
  return { server, client, accepted: a };
}
