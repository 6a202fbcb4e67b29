// Noise's length-prefix decoder learns that a read ended on a message boundary by catching a
// RangeError: @chainsafe/libp2p-noise's uint16BEDecode throws a new one (stack trace and all)
// whenever fewer than 2 bytes are left, which is at the end of every read: 5.8-6.6 µs per read
// of one 3.4 KB message against 0.74-0.77 µs with the reader below (`npm run bench -- --only
// noise-decode`), ~1.5% of a router's busy time at c=64. The reader below reads lengths the same
// way and throws one RangeError made once: the library's loop still only sees a RangeError.
import { noise } from '@chainsafe/libp2p-noise';
import type { ConnectionEncrypter } from '@libp2p/interface';
import type { Uint8ArrayList } from 'uint8arraylist';

type NoiseInit = Parameters<typeof noise>[0];
type NoiseComponents = Parameters<ReturnType<typeof noise>>[0];

/** Thrown by readLength when the buffer holds no whole length: made once, so throwing it costs no stack trace. */
const NEED_MORE = new RangeError('Could not decode int16BE');

/** Noise's 2-byte big-endian message length, as uint16BEDecode reads it. */
export function readLength(data: Uint8Array | Uint8ArrayList): number {
  if (data.length < 2) throw NEED_MORE;
  if (data instanceof Uint8Array) return ((data[0] ?? 0) << 8) + (data[1] ?? 0);
  return data.getUint16(0);
}

/** The fields of Noise's encrypted stream this sets (pinned by test/node/p2p/noise-decoder.test.ts). */
interface DecodingStream {
  decoder: { lengthDecoder: unknown };
}

/** Gives an encrypted connection's decoder readLength; false, changing nothing, for another shape. */
export function quietLengthDecoder(connection: unknown): boolean {
  const d = (connection as Partial<DecodingStream> | null)?.decoder;
  if (typeof d !== 'object' || d === null || typeof d.lengthDecoder !== 'function') return false;
  d.lengthDecoder = readLength;
  return true;
}

type Secure = ReturnType<ReturnType<typeof noise>>['secureOutbound'];

/** `secure`, its secured connection given readLength. */
function quieted(secure: Secure): Secure {
  return async (...args) => {
    const secured = await secure(...args);
    quietLengthDecoder(secured.connection);
    return secured;
  };
}

/** @chainsafe/libp2p-noise, its secured connections' length decoder set to readLength. */
export function quietNoise(init?: NoiseInit): (components: NoiseComponents) => ConnectionEncrypter {
  const make = noise(init);
  return (components) => {
    const encrypter = make(components);
    encrypter.secureOutbound = quieted(encrypter.secureOutbound.bind(encrypter));
    encrypter.secureInbound = quieted(encrypter.secureInbound.bind(encrypter));
    return encrypter;
  };
}
