// Noise's message splitter without exceptions: the same messages as the library's own
// LengthPrefixedDecoder with its own length reader, from reads cut anywhere, and set on the
// connections of real hosts (which still carry messages split and joined at any byte).
import { afterEach, describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { LengthPrefixedDecoder } from '@libp2p/utils';
import { Uint8ArrayList } from 'uint8arraylist';
import { NoiseMessageSplitter, splitWithoutThrowing } from '../../../src/node/p2p/noise-decoder.ts';
import { libraryReader } from '../../../bench/scenarios/noise-decode.ts';
import { encryptedConnection, sinkPair, type SinkPair } from './sink-pair.ts';

/** Noise's framing: a 2-byte big-endian length, then the message. */
function framed(messages: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(messages.flatMap((m) => [Buffer.from([m.byteLength >> 8, m.byteLength & 0xff]), m]));
}

const bytesOf = (b: Uint8Array | Uint8ArrayList): Uint8Array => Uint8Array.from(b instanceof Uint8Array ? b : b.subarray());

/** Every message each decoder gives for `wire` read in pieces at `cuts`; odd pieces arrive as lists when `asLists`. */
function readAll(decoder: { decode(d: Uint8Array | Uint8ArrayList): Iterable<Uint8Array | Uint8ArrayList> }, wire: Uint8Array, cuts: readonly number[], asLists: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  const at = [0, ...[...cuts].sort((a, b) => a - b), wire.byteLength];
  for (let i = 0; i + 1 < at.length; i++) {
    const piece = wire.subarray(at[i], at[i + 1]);
    const data = asLists && i % 2 === 1 ? new Uint8ArrayList(piece.subarray(0, 1), piece.subarray(1)) : piece;
    for (const m of decoder.decode(data)) out.push(bytesOf(m));
  }
  return out;
}

describe('NoiseMessageSplitter', () => {
  it('gives the messages the library decoder gives, from reads cut anywhere, arrays or lists', async () => {
    const reader = await libraryReader();
    const message = fc.uint8Array({ maxLength: 700 });
    fc.assert(fc.property(fc.array(message, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (messages, rawCuts, asLists) => {
      const wire = framed(messages);
      const cuts = rawCuts.map((c) => (wire.byteLength === 0 ? 0 : c % wire.byteLength));
      const library = new LengthPrefixedDecoder({ lengthDecoder: reader, maxBufferSize: 16 << 20, encodingLength: () => 2 });
      const own = readAll(new NoiseMessageSplitter(), wire, cuts, asLists);
      expect(own).toEqual(readAll(library, wire, cuts, asLists));
      expect(own).toEqual(messages.filter((m) => m.byteLength > 0).map((m) => Uint8Array.from(m))); // empty messages skipped, as the library does
    }), { numRuns: 300 });
  });

  it('cuts a read of whole messages into views of it, and keeps a partial message for the next read', () => {
    const wire = framed([Uint8Array.of(1, 2, 3), Uint8Array.of(4), Uint8Array.of(5, 6)]);
    const s = new NoiseMessageSplitter();
    const first = s.decode(wire.subarray(0, 9)); // two whole messages and 2 bytes of the third
    expect(first.map(bytesOf)).toEqual([Uint8Array.of(1, 2, 3), Uint8Array.of(4)]);
    expect(first.every((m) => m instanceof Uint8Array && m.buffer === wire.buffer)).toBe(true);
    expect(s.decode(wire.subarray(9, 10))).toEqual([]);
    expect(s.decode(wire.subarray(10)).map(bytesOf)).toEqual([Uint8Array.of(5, 6)]);
  });

  it('replaces only a LengthPrefixedDecoder-shaped decoder that holds nothing', () => {
    expect(splitWithoutThrowing({})).toBe(false);
    expect(splitWithoutThrowing({ decoder: {} })).toBe(false);
    expect(splitWithoutThrowing(null)).toBe(false);
    const holding = new LengthPrefixedDecoder({ encodingLength: () => 2 });
    expect([...holding.decode(Uint8Array.of(0))]).toEqual([]); // one byte of a length: held
    expect(splitWithoutThrowing({ decoder: holding })).toBe(false);
    const conn = { decoder: new LengthPrefixedDecoder() };
    expect(splitWithoutThrowing(conn)).toBe(true);
    expect(conn.decoder).toBeInstanceOf(NoiseMessageSplitter);
  });
});

describe('a libp2p host with the splitter', () => {
  let pair: SinkPair | undefined;
  afterEach(async () => { await pair?.stop(); });

  it('sets it on both ends of a connection, which carries 200 KB of messages whole', async () => {
    const sent = Array.from({ length: 60 }, (_, i) => new Uint8Array(3412).fill(i));
    pair = await sinkPair(sent.reduce((n, m) => n + m.byteLength, 0));
    for (const m of sent) pair.stream.send(m);
    const got = await pair.received;
    expect(Buffer.from(got).equals(Buffer.concat(sent))).toBe(true);
    const decoders = pair.hosts.map((h) => encryptedConnection<{ decoder: unknown }>(h).decoder);
    expect(decoders.every((d) => d instanceof NoiseMessageSplitter)).toBe(true);
    await pair.stream.close();
  });
});
