// Property tests of the bounded ModelInferRequest decoder (src/node/grpc/infer-decoder.ts):
// on valid messages it must give the codec exactly what protobufjs gives it (same request, same
// error); on mutated or random bytes it must never throw (a bad message comes back `rejected`
// with a PlexusError) and never hold more elements than its limits.
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPlexusError } from '../../../src/errors.ts';
import { decodeInferRequest } from '../../../src/node/grpc/codec.ts';
import { decodeModelInferRequest } from '../../../src/node/grpc/infer-decoder.ts';
import type { WireInferRequest, WireTensorContents } from '../../../src/wire/messages.ts';
import { loadServices } from '../../../src/wire/protos.ts';

const method = loadServices().inference.service.ModelInfer;
if (method === undefined) throw new Error('no ModelInfer');
const serialize = (m: unknown): Buffer => method.requestSerialize(m);
const protobufjs = (b: Buffer): WireInferRequest => method.requestDeserialize(b) as WireInferRequest;
const LIMITS = { maxTypedElements: 2000, maxBytesElements: 200 };
const ctx = { fallbackId: 'fallback' };

const name = fc.oneof({ weight: 9, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) }, { weight: 1, arbitrary: fc.constant('') });
const param = fc.oneof(
  fc.record({ bool_param: fc.boolean() }),
  fc.record({ int64_param: fc.oneof(fc.integer().map(String), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)) }),
  fc.record({ uint64_param: fc.oneof(fc.nat().map(String), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String)) }),
  fc.record({ string_param: fc.string({ maxLength: 20 }) }),
  fc.record({ double_param: fc.oneof({ weight: 9, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) }, { weight: 1, arbitrary: fc.double() }) }),
  fc.constant({}),
);
const params = fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), param, { maxKeys: 3 }) });

const FIELD: Record<string, [keyof WireTensorContents, fc.Arbitrary<unknown>]> = {
  BOOL: ['bool_contents', fc.boolean()],
  INT8: ['int_contents', fc.integer({ min: -128, max: 128 })],
  INT32: ['int_contents', fc.integer()],
  UINT16: ['uint_contents', fc.integer({ min: 0, max: 65536 })],
  UINT32: ['uint_contents', fc.nat({ max: 2 ** 32 - 1 })],
  INT64: ['int64_contents', fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)],
  UINT64: ['uint64_contents', fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String)],
  FP32: ['fp32_contents', fc.float()],
  FP64: ['fp64_contents', fc.double()],
  BYTES: ['bytes_contents', fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a))],
  FP16: ['fp32_contents', fc.float()],
};

const input = fc.record({
  name, datatype: fc.constantFrom(...Object.keys(FIELD), 'NOPE'),
  shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  extra: fc.constantFrom(0, 0, 0, -1, 1), raw: fc.boolean(), parameters: params,
}).chain((t) => {
  const [field, value] = FIELD[t.datatype] ?? ['int_contents', fc.integer()];
  const n = Math.max(0, t.shape.reduce((a, b) => a * b, 1) + t.extra);
  return fc.array(value, { minLength: n, maxLength: n }).map((values) => ({ ...t, field, values }));
});

const request = fc.record({
  model_name: name, model_version: name, id: name, parameters: params,
  inputs: fc.array(input, { minLength: 1, maxLength: 3 }).map((ins) => ins.map((t, i) => ({ ...t, name: `${t.name}${i}` }))),
  outputs: fc.array(fc.record({ name, parameters: params }), { maxLength: 2 }).map((os) => os.map((o, i) => ({ ...o, name: `${o.name}${i}` }))),
  raw: fc.boolean(),
}).map((r) => ({
  model_name: r.model_name, model_version: r.model_version, id: r.id, parameters: r.parameters, outputs: r.outputs,
  inputs: r.inputs.map((t) => ({
    name: t.name, datatype: t.datatype, shape: t.shape, parameters: t.parameters,
    ...(r.raw ? {} : { contents: { [t.field]: t.values } }),
  })),
  raw_input_contents: r.raw ? r.inputs.map((t) => Buffer.from(t.values.map((v) => (typeof v === 'number' ? v & 0xff : 1)))) : [],
}));

/** The codec's answer, comparable: the request with plain arrays, or the error's kind and message. */
function outcome(msg: WireInferRequest): unknown {
  try {
    const { request: r, rawOutputs } = decodeInferRequest(msg, ctx);
    return {
      rawOutputs, model: r.model, version: r.version, id: r.id, outputs: r.outputs, parameters: r.parameters,
      inputs: r.inputs.map((t) => ({ ...t, data: Array.isArray(t.data) ? t.data.map((b) => Buffer.from(b).toString('hex')) : Array.from(t.data as ArrayLike<unknown>) })),
    };
  } catch (e) {
    if (!isPlexusError(e)) throw e;
    return { kind: e.kind, message: e.message };
  }
}

function elementsHeld(msg: WireInferRequest): { typed: number; bytes: number } {
  let typed = 0;
  let bytes = 0;
  for (const t of msg.inputs) {
    for (const v of Object.values(t.contents ?? {})) typed = Math.max(typed, (v as ArrayLike<unknown>).length);
    bytes += t.contents?.bytes_contents?.length ?? 0;
  }
  return { typed, bytes };
}

/** Decodes hostile bytes: never throws, and holds no more than the limits allow. */
function decodeHostile(bytes: Uint8Array): void {
  const msg = decodeModelInferRequest(bytes, LIMITS);
  if (msg.rejected !== undefined) {
    expect(isPlexusError(msg.rejected)).toBe(true);
    return;
  }
  const held = elementsHeld(msg);
  expect(held.typed).toBeLessThanOrEqual(LIMITS.maxTypedElements);
  expect(held.bytes).toBeLessThanOrEqual(LIMITS.maxBytesElements);
  expect(msg.inputs.length + msg.outputs.length + msg.raw_input_contents.length).toBeLessThanOrEqual(3 * 64);
  outcome(msg); // the codec on top: a PlexusError at most
}

describe('bounded ModelInferRequest decoder', () => {
  it('gives the codec what protobufjs gives it, for valid messages', () => {
    let decoded = 0;
    fc.assert(fc.property(request, (req) => {
      const bytes = serialize(req);
      const ours = decodeModelInferRequest(bytes, { maxTypedElements: 1e6, maxBytesElements: 1e6 });
      expect(ours.rejected).toBeUndefined();
      const got = outcome(ours);
      expect(got).toEqual(outcome(protobufjs(bytes)));
      if (typeof got === 'object' && got !== null && 'inputs' in got) decoded++;
    }), { numRuns: 1000 });
    expect(decoded).toBeGreaterThan(100); // real requests compared, not only errors
  });

  it('never throws and never holds more than its limits on mutated messages', () => {
    const mutation = fc.record({
      cuts: fc.array(fc.record({ at: fc.nat(), byte: fc.nat({ max: 255 }), op: fc.constantFrom('set', 'insert', 'delete') }), { minLength: 1, maxLength: 4 }),
      truncate: fc.option(fc.nat()),
    });
    fc.assert(fc.property(request, mutation, (req, m) => {
      const bytes = [...serialize(req)];
      for (const c of m.cuts) {
        const at = bytes.length === 0 ? 0 : c.at % bytes.length;
        if (c.op === 'set') bytes[at] = c.byte;
        else if (c.op === 'insert') bytes.splice(at, 0, c.byte);
        else bytes.splice(at, 1);
      }
      if (m.truncate !== null) bytes.length = Math.min(bytes.length, m.truncate);
      decodeHostile(Uint8Array.from(bytes));
    }), { numRuns: 2000 });
  });

  it('never throws on random bytes, and refuses element floods before allocating', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => decodeHostile(bytes)), { numRuns: 2000 });
    // 5,000 empty BYTES elements in 10 KB, and 3,000 packed zero INT64s: both over the limits.
    const flood = serialize({ model_name: 'm', inputs: [{ name: 'x', datatype: 'BYTES', shape: [5000], contents: { bytes_contents: Array.from({ length: 5000 }, () => Buffer.alloc(0)) } }] });
    expect(decodeModelInferRequest(flood, LIMITS).rejected?.message).toMatch(/more than 200 BYTES elements; at most 200 .*limits\.maxBytesElements/);
    const zeros = serialize({ model_name: 'm', inputs: [{ name: 'x', datatype: 'INT64', shape: [3000], contents: { int64_contents: Array.from({ length: 3000 }, () => '0') } }] });
    expect(decodeModelInferRequest(zeros, LIMITS).rejected?.message).toMatch(/contents has more than 2000 elements; at most 2000 .*limits\.maxTypedElements/);
    const rawFlood = serialize({ model_name: 'm', inputs: [{ name: 'x', datatype: 'BYTES', shape: [1000] }], raw_input_contents: [Buffer.alloc(4000)] });
    expect(decodeModelInferRequest(rawFlood, LIMITS).rejected?.kind).toBe('invalid_argument');
    const longName = serialize({ model_name: 'm'.repeat(70_000), inputs: [] });
    expect(decodeModelInferRequest(longName, LIMITS).rejected?.message).toMatch(/string field of 70000 bytes; at most 65536 are accepted/);
  });
});

/** Protobuf by hand: unpacked repeated scalars mixed with packed ones, and `contents` twice (protobufjs keeps the last). */
function varint(n: bigint): number[] {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return out;
}
const len = (field: number, body: number[]): number[] => [...varint(BigInt((field << 3) | 2)), ...varint(BigInt(body.length)), ...body];
const text = (field: number, s: string): number[] => len(field, [...Buffer.from(s)]);

describe('bounded decoder on encodings protobufjs does not write', () => {
  it('reads unpacked values and a repeated contents like protobufjs', () => {
    const f32 = Buffer.alloc(4);
    f32.writeFloatLE(1.5);
    const cases: [string, number[]][] = [
      // Two contents: the second (one element, 2^40) is the one read.
      ['INT64', [...len(5, [0x18, ...varint(-5n), 0x18, ...varint(7n)]), ...len(5, [0x18, ...varint(2n ** 40n)])]],
      ['FP32', [...len(5, [0x35, ...f32, ...len(6, [...f32, ...f32])])]],
      ['FP64', [...len(5, [0x39, ...Buffer.alloc(8), ...len(7, [...Buffer.alloc(16)])])]],
      ['UINT64', [...len(5, [0x28, ...varint(2n ** 64n - 1n), 0x28, 0, 0x28, 1])]],
    ];
    for (const [datatype, contents] of cases) {
      const input = len(5, [...text(1, 'x'), ...text(2, datatype), ...len(3, varint(datatype === 'INT64' ? 1n : 3n)), ...contents]);
      const bytes = Buffer.from([...text(1, 'm'), ...input]);
      const ours = decodeModelInferRequest(bytes, LIMITS);
      expect(ours.rejected).toBeUndefined();
      expect(outcome(ours)).toEqual(outcome(protobufjs(bytes)));
      expect((outcome(ours) as { inputs: unknown[] }).inputs).toHaveLength(1);
    }
  });
});
