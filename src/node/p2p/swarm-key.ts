// A private swarm: libp2p's pre-shared key network (pnet, the IPFS swarm key file format
// `/key/swarm/psk/1.0.0/`). Every connection is XSalsa20-encrypted with the key before Noise
// starts, so a peer without the key (or with another one) never completes a handshake: no
// identify, no routes, no forwarding. Refusals are logged once per address (refusal-log.ts);
// a connection counts as accepted once the connection gater sees it encrypted (gater.ts).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { preSharedKey } from '@libp2p/pnet';
import type { ComponentLogger, ConnectionProtector, MessageStream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { ConfigError } from '../../errors.ts';
import type { RefusalLog } from './refusal-log.ts';

const HEADER = '/key/swarm/psk/1.0.0/';
const CODEC = '/base16/';
const KEY_BYTES = 32;
/** Both sides write their nonce as soon as TCP connects; a peer that has not in this long has no key. */
const NONCE_TIMEOUT_MS = 1000;
/** A member's Noise handshake after the nonces takes a few round trips; a peer silent after its nonce is cut then. */
const HANDSHAKE_MS = 1500;

/** A new random swarm key, as the file holds it (`plexus keygen swarm-key > swarm.key`). */
export function generateSwarmKey(): string {
  return `${HEADER}\n${CODEC}\n${randomBytes(KEY_BYTES).toString('hex')}\n`;
}

/** The key file's bytes as pnet wants them; ConfigError naming `where` when malformed. */
export function parseSwarmKey(text: string, where: string): Uint8Array {
  const lines = text.split(/\r\n|\r|\n/).map((l) => l.trim());
  if (lines[0] !== HEADER) throw new ConfigError(`${where}: not a swarm key file (the first line must be ${HEADER}; make one with 'plexus keygen swarm-key')`);
  if (lines[1] !== CODEC) throw new ConfigError(`${where}: only the ${CODEC} encoding is supported (second line)`);
  const hex = lines[2] ?? '';
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new ConfigError(`${where}: the third line must be ${KEY_BYTES * 2} hex digits (a ${KEY_BYTES}-byte key)`);
  if (lines.slice(3).some((l) => l !== '')) throw new ConfigError(`${where}: unexpected text after the key`);
  return new TextEncoder().encode(`${HEADER}\n${CODEC}\n${hex.toLowerCase()}`);
}

export function readSwarmKey(file: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`--swarm-key: cannot read '${file}': ${(e as Error).message}`);
  }
  return parseSwarmKey(text, `--swarm-key '${file}'`);
}

/** The remote host of a connection (IP without port), or its whole address. */
export function remoteHost(addr: Multiaddr | undefined): string {
  if (addr === undefined) return 'unknown';
  const c = addr.getComponents().find((x) => x.name === 'ip4' || x.name === 'ip6' || x.name === 'dns4' || x.name === 'dns6');
  return c?.value ?? addr.toString();
}

export interface SwarmProtectorInit {
  readonly psk: Uint8Array;
  readonly refusals: RefusalLog;
  /** True once the gater saw this connection encrypted (the peer had the key). */
  readonly accepted: (conn: object) => boolean;
  /** Abort a connection the gater has not seen encrypted this long after the nonces (default 1.5 s): a peer silent after its nonce. */
  readonly handshakeMs?: number;
}

// Every libp2p connection starts with this multistream-select header, from both sides (in
// clear without pnet; as the first bytes inside the pnet cipher with it).
const MULTISTREAM = new TextEncoder().encode('\x13/multistream/1.0.0\n');

type Chunk = Uint8Array | { subarray(): Uint8Array };
type Tappable = MessageStream & { onData?: (data: Chunk) => void; readBuffer?: Chunk };

/**
 * Calls back once the first bytes of `stream` are known to be (true) or not be (false) the
 * multistream header: those already buffered (pnet decrypts what came with the nonce before
 * it returns), then those arriving. It taps the stream's onData (a listener would take the
 * bytes from whoever reads the stream next: message streams only buffer while nobody listens).
 */
function watchPrefix(stream: MessageStream, decided: (isMultistream: boolean) => void): void {
  const tapped = stream as Tappable;
  const original = tapped.onData;
  if (typeof original !== 'function') return;
  let seen = 0;
  let done = false;
  const feed = (data: Chunk): void => {
    if (done) return;
    const bytes = data instanceof Uint8Array ? data : data.subarray();
    for (let i = 0; i < bytes.byteLength && seen < MULTISTREAM.byteLength; i++, seen++) {
      if (bytes[i] !== MULTISTREAM[seen]) { done = true; break; }
    }
    if (done) {
      decided(false);
    } else if (seen >= MULTISTREAM.byteLength) {
      done = true;
      decided(true);
    }
  };
  tapped.onData = function (this: unknown, data) {
    feed(data);
    original.call(this, data);
  };
  if (tapped.readBuffer !== undefined && stream.readBufferLength > 0) feed(tapped.readBuffer);
}

/** pnet's protector, watching each connection: one that closes before it was accepted was refused. */
export function swarmProtector(init: SwarmProtectorInit): (components: { logger: ComponentLogger }) => ConnectionProtector {
  const inner = preSharedKey({ psk: init.psk });
  return (components) => {
    const pnet = (inner as (c: { logger: ComponentLogger }) => ConnectionProtector)(components);
    return {
      async protect(connection: MessageStream, options) {
        const conn = connection as MessageStream & { remoteAddr?: Multiaddr; direction?: string };
        const started = performance.now();
        conn.addEventListener('close', () => {
          if (init.accepted(connection)) return;
          init.refusals.refused(remoteHost(conn.remoteAddr), 'the handshake failed: no or another swarm key', {
            addr: conn.remoteAddr?.toString(), direction: conn.direction, ms: Math.round(performance.now() - started),
          });
        }, { once: true });
        // A keyless peer never sends the 24-byte nonce (or not all of it): do not wait for the
        // whole upgrade timeout to find out.
        const signal = options?.signal === undefined ? AbortSignal.timeout(NONCE_TIMEOUT_MS) : AbortSignal.any([options.signal, AbortSignal.timeout(NONCE_TIMEOUT_MS)]);
        // A keyless peer starts with multistream-select in clear; refuse it at its first bytes.
        watchPrefix(connection, (clear) => { if (clear) connection.abort(new Error('peer sent plaintext: it has no swarm key')); });
        const boxed = await pnet.protect(connection, { ...options, signal });
        // Another key: the first bytes after the nonces are the peer's multistream header, but
        // they decrypt to noise. Cut at the first byte that does not match (a 1/256 chance per
        // byte of reading on), instead of waiting for a handshake that never ends.
        watchPrefix(boxed, (member) => { if (!member) connection.abort(new Error('peer\'s first bytes do not decrypt: another swarm key')); });
        // A peer that sends nothing after its nonce: give up well before libp2p's 10 s upgrade timeout.
        const timer = setTimeout(() => {
          if (!init.accepted(connection) && connection.status === 'open') connection.abort(new Error('no handshake in time: another swarm key'));
        }, init.handshakeMs ?? HANDSHAKE_MS);
        timer.unref();
        connection.addEventListener('close', () => { clearTimeout(timer); }, { once: true });
        return boxed;
      },
    };
  };
}
