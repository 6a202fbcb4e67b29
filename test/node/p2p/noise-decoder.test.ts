// Noise's length decoder without a fresh RangeError per read: the same lengths as the library's,
// the same "need more" signal to the library's own decoder loop, and set on the connections of
// real hosts (which still carry messages split and joined at any byte).
import { afterEach, describe, expect, it } from 'vitest';
import { LengthPrefixedDecoder } from '@libp2p/utils';
import { Uint8ArrayList } from 'uint8arraylist';
import { quietLengthDecoder, readLength } from '../../../src/node/p2p/noise-decoder.ts';
import { encryptedConnection, sinkPair, type SinkPair } from './sink-pair.ts';

/** Noise's framing: a 2-byte big-endian length, then the message. */
function framed(messages: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(messages.flatMap((m) => [Buffer.from([m.byteLength >> 8, m.byteLength & 0xff]), m]));
}

describe('readLength', () => {
  it('reads a length from an array or a list, and throws a RangeError when fewer than 2 bytes are left', () => {
    expect(readLength(Uint8Array.of(0x0d, 0x54, 9))).toBe(3412);
    expect(readLength(new Uint8ArrayList(Uint8Array.of(0xff), Uint8Array.of(0xef)))).toBe(65519);
    expect(() => readLength(Uint8Array.of(1))).toThrow(RangeError);
    expect(() => readLength(new Uint8ArrayList())).toThrow(RangeError);
  });

  it('drives the library decoder to the same messages from reads cut at every byte', () => {
    const messages = [new Uint8Array(300).fill(1), new Uint8Array(0), new Uint8Array(70).fill(2), new Uint8Array(5).fill(3)];
    const wire = framed(messages);
    for (let cut = 1; cut < wire.byteLength; cut += 7) {
      const d = new LengthPrefixedDecoder({ lengthDecoder: readLength, maxBufferSize: 1 << 20, encodingLength: () => 2 });
      const got = [...d.decode(wire.subarray(0, cut)), ...d.decode(wire.subarray(cut))].map((b) => Uint8Array.from(b.subarray()));
      expect(got).toEqual(messages.filter((m) => m.byteLength > 0)); // the library skips empty messages
    }
  });

  it('leaves a connection of another shape alone', () => {
    expect(quietLengthDecoder({})).toBe(false);
    expect(quietLengthDecoder({ decoder: {} })).toBe(false);
    expect(quietLengthDecoder(null)).toBe(false);
  });
});

describe('a libp2p host with the quiet length decoder', () => {
  let pair: SinkPair | undefined;
  afterEach(async () => { await pair?.stop(); });

  it('sets it on both ends of a connection, which carries 200 KB of messages whole', async () => {
    const sent = Array.from({ length: 60 }, (_, i) => new Uint8Array(3412).fill(i));
    pair = await sinkPair(sent.reduce((n, m) => n + m.byteLength, 0));
    for (const m of sent) pair.stream.send(m);
    const got = await pair.received;
    expect(Buffer.from(got).equals(Buffer.concat(sent))).toBe(true);
    const decoders = pair.hosts.map((h) => encryptedConnection<{ decoder: { lengthDecoder: unknown } }>(h).decoder.lengthDecoder);
    expect(decoders).toEqual([readLength, readLength]);
    await pair.stream.close();
  });
});
