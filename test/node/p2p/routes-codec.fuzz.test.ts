// Property-based fuzzing (fast-check) of the routes frame and advert decoder: whatever bytes a
// peer sends, decodeRoutesFrame either returns a frame or throws a PlexusError (never another
// throw), in bounded time, and what it returns is no larger than what came in (no amplification).
// Valid frames round-trip; mutated valid frames (bit flips, truncation, splices) are the
// near-misses a broken or hostile peer would send.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlexusError } from '../../../src/errors.ts';
import { canonicalAdvert, decodeRoutesFrame, encodeRoutesFrame, type RoutesFrame, type WireUpdate } from '../../../src/node/p2p/advert-codec.ts';
import { packRoutesFrames } from '../../../src/node/p2p/routes-packing.ts';
import { advertViolation, DEFAULT_PEER_LIMITS } from '../../../src/routing/peer-limits.ts';
import type { AdvertisedModel } from '../../../src/routing/types.ts';

/** Decode; a PlexusError is a refusal, any other throw fails the property. Checks time and output size. */
function decodeBounded(bytes: Uint8Array): RoutesFrame | undefined {
  const t0 = performance.now();
  let frame: RoutesFrame | undefined;
  try {
    frame = decodeRoutesFrame(bytes);
  } catch (e) {
    if (!(e instanceof PlexusError)) throw new Error(`non-PlexusError throw: ${String(e)}`);
  }
  const ms = performance.now() - t0;
  if (ms > 1000) throw new Error(`decoding ${bytes.byteLength} bytes took ${ms.toFixed(0)} ms`);
  if (frame !== undefined) {
    // What it holds re-encodes to at most about what came in (numbers may print longer: 1e9 -> 1000000000).
    const out = encodeRoutesFrame(frame).byteLength;
    if (out > 2 * bytes.byteLength + 1024) throw new Error(`${bytes.byteLength} bytes decoded to a frame of ${out} bytes`);
    for (const u of frame.updates) advertViolation(u.signed.advert, canonicalAdvert(u.signed.advert).byteLength, DEFAULT_PEER_LIMITS);
  }
  return frame;
}

const json = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x));

const name = fc.string({ minLength: 1, maxLength: 12 });
const tensor = fc.record({ name, datatype: fc.constantFrom('FP32', 'INT64', 'BYTES'), shape: fc.array(fc.integer({ min: -1, max: 1 << 20 }), { maxLength: 4 }) });
const modelArb: fc.Arbitrary<AdvertisedModel> = fc.record({
  name, version: fc.string({ maxLength: 4 }), capabilities: fc.array(name, { maxLength: 3 }), provider: fc.constantFrom('cpu' as const, 'cuda' as const, 'webgpu' as const),
  price: fc.double({ min: 0, max: 1e6, noNaN: true }), computeMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
  load: fc.nat(100), capacity: fc.nat(100),
  io: fc.option(fc.record({ platform: name, inputs: fc.array(tensor, { maxLength: 3 }), outputs: fc.array(tensor, { maxLength: 2 }) }), { nil: undefined }),
}).map((m) => (m.io === undefined ? { ...m, io: undefined } : m)).map(({ io, ...rest }) => (io === undefined ? rest : { ...rest, io }));
const updateArb: fc.Arbitrary<WireUpdate> = fc.record({
  origin: name, seq: fc.nat(), issuedAt: fc.integer(), models: fc.array(modelArb, { maxLength: 3 }),
  sig: fc.uint8Array({ minLength: 64, maxLength: 64 }), metricMs: fc.oneof(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.constant(Infinity)),
  hops: fc.nat(255), retracted: fc.boolean(),
}).map((u) => ({ signed: { advert: { origin: u.origin, seq: u.seq, issuedAt: u.issuedAt, models: u.models }, sig: u.sig }, metricMs: u.metricMs, hops: u.hops, retracted: u.retracted }));
const frameArb = fc.record({
  updates: fc.array(updateArb, { maxLength: 6 }),
  addrs: fc.dictionary(name, fc.array(fc.string({ maxLength: 30 }), { maxLength: 3 }), { maxKeys: 3 }),
});

describe('decodeRoutesFrame under fuzzing', () => {
  it('arbitrary bytes: a frame or a PlexusError, quickly', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (b) => { decodeBounded(b); }), { numRuns: 2000 });
  });

  it('arbitrary JSON, and objects shaped like a frame with fields of any type', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => { decodeBounded(json(v)); }), { numRuns: 1500 });
    const anything = fc.anything({ maxDepth: 3, withNullPrototype: false });
    const shaped = fc.record({
      v: fc.oneof(fc.constant(1), anything), u: fc.array(fc.record({ a: fc.oneof(anything, fc.record({ origin: anything, seq: anything, issuedAt: anything, models: fc.array(anything, { maxLength: 3 }) })), s: anything, m: anything, h: anything, r: anything }), { maxLength: 4 }),
      addrs: anything, q: fc.option(fc.array(fc.record({ o: anything, s: anything, h: anything }), { maxLength: 3 })),
    });
    fc.assert(fc.property(shaped, (v) => { decodeBounded(json(v)); }), { numRuns: 2000 });
  });

  it('valid frames round-trip, packed or not', () => {
    fc.assert(fc.property(frameArb, (f) => {
      const d = decodeBounded(encodeRoutesFrame(f));
      expect(d?.updates.map((u) => u.signed.advert)).toEqual(f.updates.map((u) => u.signed.advert));
      expect(d?.updates.map((u) => [u.metricMs, u.hops, u.retracted])).toEqual(f.updates.map((u) => [u.metricMs, u.hops, u.retracted]));
      for (const p of packRoutesFrames(f.updates, (o) => f.addrs[o], 4096).frames) {
        expect(p.byteLength).toBeLessThanOrEqual(4096);
        decodeBounded(p);
      }
    }), { numRuns: 600 });
  });

  it('mutated valid frames (bit flips, truncation, splices): a frame or a PlexusError', () => {
    const mutated = fc.tuple(frameArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), fc.boolean())
      .map(([f, flips, cut, truncate]) => {
        const b = encodeRoutesFrame(f).slice();
        for (const [at, v] of flips) b[at % b.length] = v;
        return truncate ? b.subarray(0, cut % (b.length + 1)) : b;
      });
    fc.assert(fc.property(mutated, (b) => { decodeBounded(b); }), { numRuns: 2000 });
  });

  it('large counts are refused before they are built', () => {
    const many = json({ v: 1, u: Array.from({ length: 5000 }, () => 0), addrs: {} });
    expect(() => decodeRoutesFrame(many)).toThrow(PlexusError);
    const hugeAddrs = json({ v: 1, u: [], addrs: { o: Array.from({ length: 10_000 }, () => '/ip4/1.2.3.4/tcp/1') } });
    expect(decodeBounded(hugeAddrs)?.addrs.o?.length).toBeLessThanOrEqual(16);
  });

  it('a version that cannot be turned into a string (found by this fuzzer) is a PlexusError', () => {
    expect(() => decodeRoutesFrame(json({ v: { toString: 1 }, u: [] }))).toThrow(/version \{"toString":1\} is not supported/);
    expect(() => decodeRoutesFrame(json({ u: [] }))).toThrow(/version none is not supported/);
  });

  it("a '__proto__' origin in the dial hints does not replace the prototype of what is decoded", () => {
    const f = decodeBounded(new TextEncoder().encode('{"v":1,"u":[],"addrs":{"__proto__":["/ip4/1.2.3.4/tcp/1"],"x":["/ip4/1.2.3.4/tcp/2"]}}'));
    expect(Object.getPrototypeOf(f?.addrs)).toBeNull();
    expect(Object.keys(f?.addrs ?? {}).sort()).toEqual(['__proto__', 'x']);
  });
});
