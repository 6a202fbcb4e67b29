// Property-based fuzzing (fast-check) of the forward frame decoder: whatever bytes a peer sends,
// decodeFrame returns a frame or throws a PlexusError (never another throw), in bounded time,
// and the tensors it returns are views over the frame: their data adds up to no more than the
// frame's bytes, and a BYTES tensor has at most one element per 4 bytes (its length prefixes).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlexusError } from '../../../src/errors.ts';
import { decodeFrame, encodeCancel, encodeError, encodeRequest, encodeResult, FRAME_REQUEST, FRAME_RESULT, type DecodedFrame } from '../../../src/node/p2p/forward-codec.ts';
import type { Tensor } from '../../../src/inference/types.ts';

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.byteLength; }
  return out;
}

function tensorBytes(t: Tensor): number {
  return Array.isArray(t.data) ? (t.data as Uint8Array[]).reduce((n, e) => n + e.byteLength, 0) : (t.data as ArrayBufferView).byteLength;
}

function decodeBounded(bytes: Uint8Array): DecodedFrame | undefined {
  const t0 = performance.now();
  let f: DecodedFrame | undefined;
  try {
    f = decodeFrame(bytes);
  } catch (e) {
    if (!(e instanceof PlexusError)) throw new Error(`non-PlexusError throw: ${String(e)}`);
  }
  const ms = performance.now() - t0;
  if (ms > 1000) throw new Error(`decoding ${bytes.byteLength} bytes took ${ms.toFixed(0)} ms`);
  const tensors = f?.type === FRAME_REQUEST ? f.body.inputs : f?.type === FRAME_RESULT ? f.body.outputs : [];
  let total = 0;
  for (const t of tensors) {
    total += tensorBytes(t);
    if (Array.isArray(t.data) && t.data.length * 4 > bytes.byteLength) throw new Error(`${t.data.length} BYTES elements from ${bytes.byteLength} bytes`);
  }
  if (total > bytes.byteLength) throw new Error(`tensors of ${total} bytes from a frame of ${bytes.byteLength}`);
  return f;
}

/** [u8 type][u32 corr][u32 headerLen][header][payload] with any header and payload. */
function rawFrame(type: number, corr: number, header: Uint8Array, payload: Uint8Array, lie = 0): Uint8Array {
  const b = new Uint8Array(9 + header.byteLength + payload.byteLength);
  const v = new DataView(b.buffer);
  v.setUint8(0, type);
  v.setUint32(1, corr, false);
  v.setUint32(5, (header.byteLength + lie) >>> 0, false);
  b.set(header, 9);
  b.set(payload, 9 + header.byteLength);
  return b;
}

const json = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x));
const anything = fc.anything({ maxDepth: 2, withNullPrototype: false });
const dims = fc.array(fc.oneof(fc.integer({ min: -2, max: 8 }), fc.constantFrom(2 ** 31, 2 ** 53, -1, 1e300, 0.5)), { maxLength: 4 });
const meta = fc.record({ n: fc.oneof(fc.string({ maxLength: 8 }), anything), d: fc.oneof(fc.constantFrom('FP32', 'INT64', 'BYTES', 'UINT8', 'BOOL', 'FP16'), anything), s: fc.oneof(dims, anything), b: fc.oneof(fc.integer({ min: -4, max: 64 }), anything) });
const requestHeader = fc.record({
  q: fc.oneof(fc.string({ maxLength: 8 }), anything), ttl: fc.oneof(fc.integer(), anything), rem: fc.oneof(fc.integer(), anything),
  route: fc.oneof(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), anything), o: fc.oneof(fc.string({ maxLength: 8 }), anything),
  m: fc.oneof(fc.string({ maxLength: 8 }), anything), v: fc.option(fc.oneof(fc.string({ maxLength: 3 }), anything), { nil: undefined }),
  out: fc.oneof(fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }), anything), p: fc.oneof(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string(), fc.double(), fc.boolean(), anything), { maxKeys: 3 }), anything),
  t: fc.oneof(fc.array(meta, { maxLength: 3 }), anything), hops: fc.oneof(fc.array(fc.record({ peer: fc.string({ maxLength: 8 }), ms: fc.double() }), { maxLength: 2 }), anything),
  k: anything, msg: anything, id: anything,
});

describe('decodeFrame (forward protocol) under fuzzing', () => {
  it('arbitrary bytes: a frame or a PlexusError, quickly', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (b) => { decodeBounded(b); }), { numRuns: 3000 });
  });

  it('any type byte, any (often lying) header length, headers shaped like requests and results with fields of any type', () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.nat(), requestHeader, fc.uint8Array({ maxLength: 96 }), fc.oneof(fc.constant(0), fc.integer({ min: -8, max: 8 })));
    fc.assert(fc.property(arb, ([type, corr, h, payload, lie]) => { decodeBounded(rawFrame(type, corr, json(h), payload, lie)); }), { numRuns: 3000 });
  });

  it('valid frames round-trip, and their mutations are a frame or a PlexusError', () => {
    const tensor = fc.oneof(
      fc.float32Array({ maxLength: 8 }).map((a): Tensor => ({ name: 'f', datatype: 'FP32', shape: [a.length], data: a })),
      fc.array(fc.uint8Array({ maxLength: 6 }), { maxLength: 4 }).map((a): Tensor => ({ name: 'b', datatype: 'BYTES', shape: [a.length], data: a })),
    );
    const frames = fc.oneof(
      fc.array(tensor, { maxLength: 3 }).map((inputs) => encodeRequest(7, { queryId: 'q', ttl: 3, remainingMs: 100, route: ['a'], origin: 'o', model: 'm', outputs: [], parameters: { x: 1 }, inputs })),
      fc.array(tensor, { maxLength: 3 }).map((outputs) => encodeResult(8, { model: 'm', version: '1', id: 'i', parameters: {}, outputs, hops: [{ peer: 'p', ms: 1 }] })),
      fc.string({ maxLength: 20 }).map((message) => encodeError(9, { kind: 'unavailable', message, hops: [] })),
      fc.constant(encodeCancel(10)),
    ).map(concat);
    fc.assert(fc.property(frames, (b) => { expect(decodeBounded(b)).toBeDefined(); }), { numRuns: 1000 });
    const mutated = fc.tuple(frames, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), fc.boolean())
      .map(([b0, flips, cut, truncate]) => {
        const b = b0.slice();
        for (const [at, v] of flips) b[at % b.length] = v;
        return truncate ? b.subarray(0, cut % (b.length + 1)) : b;
      });
    fc.assert(fc.property(mutated, (b) => { decodeBounded(b); }), { numRuns: 3000 });
  });

  it('a BYTES tensor claiming a huge element count in a few bytes is refused, not allocated', () => {
    const h = json({ q: 'q', ttl: 1, rem: 1, route: [], o: 'o', m: 'm', out: [], t: [{ n: 'x', d: 'BYTES', s: [2 ** 31], b: 8 }] });
    expect(() => decodeFrame(rawFrame(FRAME_REQUEST, 1, h, new Uint8Array(8)))).toThrow(PlexusError);
  });
});
