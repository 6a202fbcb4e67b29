// Noise's message splitter without exceptions. @chainsafe/libp2p-noise splits each read into
// its 2-byte-length-prefixed messages with @libp2p/utils' LengthPrefixedDecoder, which learns
// that a read ended on a message boundary by catching a RangeError from the length reader: at
// the end of every read. The library's reader built a new RangeError each time (stack trace and
// all: 5.8-6.6 µs per read of one 3.4 KB message, ~1.5% of a router's busy time at c=64). A
// reader that threw one RangeError made once cut that to 0.74-0.77 µs warm, but a throw still
// costs, most on a read that wakes an idle node (every read at c=1): 7.7 µs per read at the
// median, reads 1 ms apart, against 2.3 µs for the splitter below (0.67-0.76 against 0.10 µs
// warm; `npm run bench -- --only noise-decode`). The splitter reads lengths and never throws: a
// read that holds whole messages (the common case) is cut into views of itself, and only a
// message split across reads is gathered in a list.
import { noise } from '@chainsafe/libp2p-noise';
import type { ConnectionEncrypter } from '@libp2p/interface';
import { Uint8ArrayList } from 'uint8arraylist';

type NoiseInit = Parameters<typeof noise>[0];
type NoiseComponents = Parameters<ReturnType<typeof noise>>[0];

/** Noise's length prefix. */
const LENGTH_BYTES = 2;

/**
 * Splits a byte stream into Noise messages (each after its 2-byte big-endian length), as
 * LengthPrefixedDecoder does for Noise: the same messages, empty ones skipped. What it holds
 * between reads is at most one partial message (< 2 + 65,535 bytes), so it needs no bound.
 */
export class NoiseMessageSplitter {
  /** The bytes of a message not yet whole (empty between whole reads). */
  readonly #rest = new Uint8ArrayList();

  /** The whole messages that `data` completes, in order; what is left waits for the next read. */
  decode(data: Uint8Array | Uint8ArrayList): (Uint8Array | Uint8ArrayList)[] {
    if (this.#rest.byteLength === 0 && data instanceof Uint8Array) return this.#fromArray(data);
    this.#rest.append(data);
    const out: (Uint8Array | Uint8ArrayList)[] = [];
    const rest = this.#rest;
    while (rest.byteLength >= LENGTH_BYTES) {
      const end = LENGTH_BYTES + rest.getUint16(0);
      if (rest.byteLength < end) break;
      if (end > LENGTH_BYTES) out.push(rest.sublist(LENGTH_BYTES, end));
      rest.consume(end);
    }
    return out;
  }

  /** Whole messages as views of `data`; a partial one at its end is kept. */
  #fromArray(data: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 0;
    while (data.byteLength - at >= LENGTH_BYTES) {
      const end = at + LENGTH_BYTES + (((data[at] ?? 0) << 8) | (data[at + 1] ?? 0));
      if (data.byteLength < end) break;
      if (end > at + LENGTH_BYTES) out.push(data.subarray(at + LENGTH_BYTES, end));
      at = end;
    }
    if (at < data.byteLength) this.#rest.append(data.subarray(at));
    return out;
  }
}

/** The field of Noise's encrypted connection this replaces (pinned by test/node/p2p/noise-decoder.test.ts). */
interface DecodingConnection {
  decoder: { decode: unknown };
}

/** Gives an encrypted connection a NoiseMessageSplitter as its decoder; false, changing nothing, for another shape. */
export function splitWithoutThrowing(connection: unknown): boolean {
  const c = connection as Partial<DecodingConnection> | null;
  const d = c?.decoder;
  if (c === null || c === undefined || typeof d !== 'object' || d === null || typeof d.decode !== 'function') return false;
  // Set before the first read: Noise's message listener looks the decoder up on every read.
  if ((d as { buffer?: { byteLength?: unknown } }).buffer?.byteLength !== 0) return false;
  c.decoder = new NoiseMessageSplitter();
  return true;
}

type Secure = ReturnType<ReturnType<typeof noise>>['secureOutbound'];

/** `secure`, its secured connection given a NoiseMessageSplitter. */
function splitting(secure: Secure): Secure {
  return async (...args) => {
    const secured = await secure(...args);
    splitWithoutThrowing(secured.connection);
    return secured;
  };
}

/** @chainsafe/libp2p-noise, its secured connections' messages split by NoiseMessageSplitter. */
export function quietNoise(init?: NoiseInit): (components: NoiseComponents) => ConnectionEncrypter {
  const make = noise(init);
  return (components) => {
    const encrypter = make(components);
    encrypter.secureOutbound = splitting(encrypter.secureOutbound.bind(encrypter));
    encrypter.secureInbound = splitting(encrypter.secureInbound.bind(encrypter));
    return encrypter;
  };
}
