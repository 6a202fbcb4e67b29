// The reference for the hand-written response encoder (src/node/grpc/infer-encoder.ts):
// protobufjs's serializer and deserializer of the same proto, as grpc-js used them before.
// protobufjs takes plain arrays only, so typed arrays are turned into the plain arrays that
// mean the same values.
import { expect } from 'vitest';
import type { WireInferResponse, WireStreamInferResponse, WireTensorContents } from '../../../src/wire/messages.ts';
import { loadServices } from '../../../src/wire/protos.ts';

const service = loadServices().inference.service;
const infer = service.ModelInfer;
const stream = service.ModelStreamInfer;
if (infer === undefined || stream === undefined) throw new Error('no ModelInfer / ModelStreamInfer');

export const protobufjs = {
  encode: (m: unknown): Buffer => Buffer.from(infer.responseSerialize(m)),
  decode: (b: Buffer): unknown => infer.responseDeserialize(b),
  encodeStream: (m: unknown): Buffer => Buffer.from(stream.responseSerialize(m)),
  decodeStream: (b: Buffer): unknown => stream.responseDeserialize(b),
};

function plainArray(v: unknown, field: string): unknown {
  if (!ArrayBuffer.isView(v)) return v;
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) return Array.from(v, String);
  if (field === 'bool_contents') return Array.from(v as Uint8Array, (b) => b !== 0);
  return Array.from(v as unknown as ArrayLike<number>);
}

function plainContents(c: WireTensorContents | null | undefined): unknown {
  if (c == null) return c;
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, k === 'bytes_contents' ? v : plainArray(v, k)]));
}

/** The response as protobufjs takes it: typed arrays in contents as plain arrays. */
export function plain(m: Partial<WireInferResponse>): unknown {
  if (m.outputs === undefined) return m;
  return { ...m, outputs: m.outputs.map((o) => (o.contents == null ? o : { ...o, contents: plainContents(o.contents) })) };
}

export function plainStream(m: WireStreamInferResponse): unknown {
  return m.infer_response == null ? m : { ...m, infer_response: plain(m.infer_response) };
}

/** The fast encoder's bytes are protobufjs's bytes, and decode to the same message. */
export function expectSameAsProtobufjs(fast: Buffer, m: Partial<WireInferResponse>): void {
  const ref = protobufjs.encode(plain(m));
  expect(protobufjs.decode(fast)).toEqual(protobufjs.decode(ref));
  expect(fast.toString('hex')).toBe(ref.toString('hex'));
}

export function expectSameStreamAsProtobufjs(fast: Buffer, m: WireStreamInferResponse): void {
  const ref = protobufjs.encodeStream(plainStream(m));
  expect(protobufjs.decodeStream(fast)).toEqual(protobufjs.decodeStream(ref));
  expect(fast.toString('hex')).toBe(ref.toString('hex'));
}
