// Property-based fuzzing (fast-check) of both versions of the forward frame codec: whatever bytes
// a peer sends, decodeFrame returns a frame or throws a PlexusError (never another throw), in
// bounded time, and the tensors it returns are views over the frame: their data adds up to no
// more than the frame's bytes, and a BYTES tensor has at most one element per 4 bytes (its length
// prefixes). Any frame 2.0.0 encodes decodes to what was encoded, and to what 1.0.0 gives.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_KINDS, PlexusError } from '../../../src/errors.ts';
import type { Params, Tensor } from '../../../src/inference/types.ts';
import { HeaderWriter } from '../../../src/node/p2p/bin-header.ts';
import { codecV2 } from '../../../src/node/p2p/forward-codec.ts';
import { codecV1 } from '../../../src/node/p2p/forward-codec-v1.ts';
import { FRAME_REQUEST, FRAME_RESULT, type DecodedFrame, type ForwardCodec, type ForwardRequest, type ForwardResult } from '../../../src/node/p2p/forward-frame.ts';

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.byteLength; }
  return out;
}

function tensorBytes(t: Tensor): number {
  return Array.isArray(t.data) ? (t.data as Uint8Array[]).reduce((n, e) => n + e.byteLength, 0) : (t.data as ArrayBufferView).byteLength;
}

function decodeBounded(codec: ForwardCodec, bytes: Uint8Array): DecodedFrame | undefined {
  const t0 = performance.now();
  let f: DecodedFrame | undefined;
  try {
    f = codec.decodeFrame(bytes);
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

const tensor = fc.oneof(
  fc.float32Array({ maxLength: 8 }).map((a): Tensor => ({ name: 'f', datatype: 'FP32', shape: [a.length], data: a })),
  fc.bigInt64Array({ maxLength: 3 }).map((a): Tensor => ({ name: 'i', datatype: 'INT64', shape: [a.length], data: a })),
  fc.uint8Array({ maxLength: 5 }).map((a): Tensor => ({ name: 'u', datatype: 'UINT8', shape: [1, a.length], data: a })),
  fc.array(fc.uint8Array({ maxLength: 6 }), { maxLength: 4 }).map((a): Tensor => ({ name: 'b', datatype: 'BYTES', shape: [a.length], data: a })),
);

/** Valid frames of every type, encoded by `codec`. */
function validFrames(codec: ForwardCodec): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.array(tensor, { maxLength: 3 }).map((inputs) => codec.encodeRequest(7, { queryId: 'q', ttl: 3, remainingMs: 100, route: ['a'], origin: 'o', model: 'm', outputs: [], parameters: { x: 1 }, inputs })),
    fc.array(tensor, { maxLength: 3 }).map((outputs) => codec.encodeResult(8, { model: 'm', version: '1', id: 'i', parameters: {}, outputs, hops: [{ peer: 'p', ms: 1 }] })),
    fc.string({ maxLength: 20 }).map((message) => codec.encodeError(9, { kind: 'unavailable', message, hops: [] })),
    fc.constant(codec.encodeCancel(10)),
  ).map(concat);
}

/** A request header (2.0.0) declaring one BYTES tensor of `count` elements in `bytes` bytes. */
function binaryBytesClaim(count: number, bytes: number): Uint8Array {
  const w = new HeaderWriter(9).u8(0).str('q').f64(1).f64(1).varint(0).str('o').str('m').varint(0).varint(0);
  w.varint(1).str('x').str('BYTES').varint(1).f64(count).varint(bytes);
  return w.finish().subarray(9);
}

describe.each([['1.0.0', codecV1], ['2.0.0', codecV2]] as const)('forward frames %s under fuzzing', (_version, codec) => {
  it('arbitrary bytes: a frame or a PlexusError, quickly', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (b) => { decodeBounded(codec, b); }), { numRuns: 3000 });
  });

  it('valid frames decode, and their mutations are a frame or a PlexusError', () => {
    const frames = validFrames(codec);
    fc.assert(fc.property(frames, (b) => { expect(decodeBounded(codec, b)).toBeDefined(); }), { numRuns: 1000 });
    const mutated = fc.tuple(frames, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), fc.boolean())
      .map(([b0, flips, cut, truncate]) => {
        const b = b0.slice();
        for (const [at, v] of flips) b[at % b.length] = v;
        return truncate ? b.subarray(0, cut % (b.length + 1)) : b;
      });
    fc.assert(fc.property(mutated, (b) => { decodeBounded(codec, b); }), { numRuns: 3000 });
  });

  it('a BYTES tensor claiming a huge element count in a few bytes is refused, not allocated', () => {
    const h = codec === codecV1 ? json({ q: 'q', ttl: 1, rem: 1, route: [], o: 'o', m: 'm', out: [], t: [{ n: 'x', d: 'BYTES', s: [2 ** 31], b: 8 }] }) : binaryBytesClaim(2 ** 31, 8);
    expect(() => codec.decodeFrame(rawFrame(FRAME_REQUEST, 1, h, new Uint8Array(8)))).toThrow(PlexusError);
  });
});

describe('1.0.0: JSON headers', () => {
  const meta = fc.record({ n: fc.oneof(fc.string({ maxLength: 8 }), anything), d: fc.oneof(fc.constantFrom('FP32', 'INT64', 'BYTES', 'UINT8', 'BOOL', 'FP16'), anything), s: fc.oneof(dims, anything), b: fc.oneof(fc.integer({ min: -4, max: 64 }), anything) });
  const requestHeader = fc.record({
    q: fc.oneof(fc.string({ maxLength: 8 }), anything), ttl: fc.oneof(fc.integer(), anything), rem: fc.oneof(fc.integer(), anything),
    route: fc.oneof(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), anything), o: fc.oneof(fc.string({ maxLength: 8 }), anything),
    m: fc.oneof(fc.string({ maxLength: 8 }), anything), v: fc.option(fc.oneof(fc.string({ maxLength: 3 }), anything), { nil: undefined }),
    out: fc.oneof(fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }), anything), p: fc.oneof(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string(), fc.double(), fc.boolean(), anything), { maxKeys: 3 }), anything),
    t: fc.oneof(fc.array(meta, { maxLength: 3 }), anything), hops: fc.oneof(fc.array(fc.record({ peer: fc.string({ maxLength: 8 }), ms: fc.double() }), { maxLength: 2 }), anything),
    k: anything, msg: anything, id: anything,
  });

  it('any type byte, any (often lying) header length, headers shaped like requests and results with fields of any type', () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.nat(), requestHeader, fc.uint8Array({ maxLength: 96 }), fc.oneof(fc.constant(0), fc.integer({ min: -8, max: 8 })));
    fc.assert(fc.property(arb, ([type, corr, h, payload, lie]) => { decodeBounded(codecV1, rawFrame(type, corr, json(h), payload, lie)); }), { numRuns: 3000 });
  });
});

describe('2.0.0: binary headers', () => {
  /** A header written field by field with values of any kind: flags of any bits, counts that lie, strings of any length. */
  const field = fc.oneof(
    fc.integer({ min: 0, max: 255 }).map((v) => (w: HeaderWriter) => w.u8(v)),
    fc.oneof(fc.integer({ min: 0, max: 8 }), fc.nat(), fc.constant(2 ** 32 - 1)).map((v) => (w: HeaderWriter) => w.varint(v)),
    fc.oneof(fc.double(), fc.constantFrom(2 ** 31, -1, 0.5, 1e300)).map((v) => (w: HeaderWriter) => w.f64(v)),
    fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('FP32', 'INT64', 'BYTES', 'UINT8', 'BOOL', 'x'.repeat(200))).map((v) => (w: HeaderWriter) => w.str(v)),
  );
  const header = fc.array(field, { maxLength: 24 }).map((fs) => {
    const w = new HeaderWriter(9);
    for (const f of fs) f(w);
    return w.finish().subarray(9);
  });

  it('any type byte, any (often lying) header length, headers of fields of any kind', () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.nat(), header, fc.uint8Array({ maxLength: 96 }), fc.oneof(fc.constant(0), fc.integer({ min: -8, max: 8 })));
    fc.assert(fc.property(arb, ([type, corr, h, payload, lie]) => { decodeBounded(codecV2, rawFrame(type, corr, h, payload, lie)); }), { numRuns: 5000 });
  });

  const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'grapheme', maxLength });
  // JSON (1.0.0) turns -0 into 0, NaN and ±Infinity into null: numbers both versions carry alike.
  const num = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0));
  const params: fc.Arbitrary<Params> = fc.dictionary(text(6).filter((k) => k !== '__proto__'), fc.oneof(text(10), num, fc.boolean()), { maxKeys: 3 });
  const hops = fc.array(fc.record({ peer: text(8), ms: num }), { maxLength: 3 });
  const sealed = fc.record({ epk: text(6), iv: text(6), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }, { requiredKeys: ['iv', 'bytes'] });
  const request: fc.Arbitrary<ForwardRequest> = fc.record({
    queryId: text(12), ttl: fc.nat(64), remainingMs: num, route: fc.array(text(8), { maxLength: 3 }), origin: text(8), model: text(8),
    version: text(4), outputs: fc.array(text(4), { maxLength: 2 }), parameters: params, inputs: fc.array(tensor, { maxLength: 3 }),
    traceparent: text(20), tenant: text(8), nonce: text(8), sealed,
  }, { requiredKeys: ['queryId', 'ttl', 'remainingMs', 'route', 'origin', 'model', 'outputs', 'parameters', 'inputs'] })
    .map((r) => (r.sealed === undefined ? r : { ...r, inputs: [] }));
  const result: fc.Arbitrary<ForwardResult> = fc.record({
    model: text(8), version: text(4), id: text(12), parameters: params, outputs: fc.array(tensor, { maxLength: 3 }), hops,
    proof: fc.record({ by: text(8), sig: text(16) }), sealed,
  }, { requiredKeys: ['model', 'version', 'id', 'parameters', 'outputs', 'hops'] })
    .map((r) => (r.sealed === undefined ? r : { ...r, outputs: [] }));
  const error = fc.record({ kind: fc.constantFrom(...ERROR_KINDS), message: text(40), hops });

  it('any request, result or error decodes to what was encoded, and to what 1.0.0 gives', () => {
    const both = (encode: (c: ForwardCodec) => Uint8Array[]): [DecodedFrame, DecodedFrame] => [codecV2.decodeFrame(concat(encode(codecV2))), codecV1.decodeFrame(concat(encode(codecV1)))];
    fc.assert(fc.property(request, fc.nat(), (r, corr) => {
      const [v2, v1] = both((c) => c.encodeRequest(corr, r));
      expect(v2).toEqual({ type: FRAME_REQUEST, corr, body: r });
      expect(v1).toEqual(v2);
    }), { numRuns: 1000 });
    fc.assert(fc.property(result, (r) => {
      const [v2, v1] = both((c) => c.encodeResult(3, r));
      expect(v2).toEqual({ type: FRAME_RESULT, corr: 3, body: r });
      expect(v1).toEqual(v2);
    }), { numRuns: 1000 });
    fc.assert(fc.property(error, (e) => {
      const [v2, v1] = both((c) => c.encodeError(4, e));
      expect(v2).toEqual(v1);
      expect(v2).toMatchObject({ body: { kind: e.kind, message: e.message, hops: e.hops } });
    }), { numRuns: 300 });
  });

  it('pads the header so that tensor bytes are 8-aligned where a receiver reads a frame (byte 18 of a Noise message), and decode as views', () => {
    fc.assert(fc.property(request.filter((r) => r.sealed === undefined), (r) => {
      const parts = codecV2.encodeRequest(1, r);
      const received = new Uint8Array(18 + parts.reduce((n, p) => n + p.byteLength, 0));
      received.set(concat(parts), 18);
      const frame = received.subarray(18);
      expect((18 + 9 + new DataView(received.buffer).getUint32(18 + 5)) % 8).toBe(0);
      const f = codecV2.decodeFrame(frame);
      for (const t of f.type === FRAME_REQUEST ? f.body.inputs : []) if (!Array.isArray(t.data) && t.data.byteLength > 0) expect((t.data as ArrayBufferView).buffer).toBe(received.buffer);
    }), { numRuns: 300 });
  });

  it('refuses flags this version does not define, and bytes after the last field other than its zero padding', () => {
    const cancel = concat(codecV2.encodeCancel(1));
    expect(codecV2.decodeFrame(cancel)).toEqual({ type: 4, corr: 1 });
    const withTail = (tail: number[]): Uint8Array => rawFrame(4, 1, new Uint8Array(tail), new Uint8Array(0));
    expect(codecV2.decodeFrame(withTail([0, 0, 0]))).toEqual({ type: 4, corr: 1 });
    expect(() => codecV2.decodeFrame(withTail([0, 1]))).toThrow(/after the header's last field/);
    expect(() => codecV2.decodeFrame(withTail(Array.from({ length: 8 }, () => 0)))).toThrow(/after the header's last field/);
    const req = concat(codecV2.encodeRequest(1, { queryId: 'q', ttl: 1, remainingMs: 1, route: [], origin: 'o', model: 'm', outputs: [], parameters: {}, inputs: [] }));
    req[9] = 0x40; // the request's flags byte: a bit 2.0.0 does not define
    expect(() => codecV2.decodeFrame(req)).toThrow(/flags 0x40/);
  });
});
