// Hand-picked cases for the response encoder (src/node/grpc/infer-encoder.ts): what the node
// really sends (encodeInferResponse for every datatype, raw and typed; stream errors), edge
// values (empty and unicode strings, int64 extremes, NaN and -0, every parameter kind, lengths
// across varint boundaries), the fallback to protobufjs, and its installation as grpc-js's
// responseSerialize. Each encoding must be protobufjs's bytes (encoder-reference.ts).
import { describe, expect, it } from 'vitest';
import type { InferResult, Tensor } from '../../../src/inference/types.ts';
import { withBoundedInferDecoding } from '../../../src/node/grpc/bounded-service.ts';
import { encodeInferResponse } from '../../../src/node/grpc/codec.ts';
import { encodeModelInferResponse, encodeModelStreamInferResponse, withFallback } from '../../../src/node/grpc/infer-encoder.ts';
import { EncodeFallback } from '../../../src/node/grpc/wire-writer.ts';
import type { WireInferResponse, WireOutputTensor, WireParameters } from '../../../src/wire/messages.ts';
import { loadServices } from '../../../src/wire/protos.ts';
import { streamErrorResponse } from '../../../src/wire/status.ts';
import { expectSameAsProtobufjs, expectSameStreamAsProtobufjs, protobufjs } from './encoder-reference.ts';
import { InvalidInputError } from '../../../src/errors.ts';

function response(over: Partial<WireInferResponse>): WireInferResponse {
  return { model_name: 'm', model_version: '1', id: 'q', parameters: {}, outputs: [], raw_output_contents: [], ...over };
}

function same(m: WireInferResponse): void {
  expectSameAsProtobufjs(encodeModelInferResponse(m), m);
}

const SILERO: WireInferResponse = {
  model_name: 'silero-vad', model_version: '1', id: 'q-1234', parameters: {},
  outputs: [{ name: 'output', datatype: 'FP32', shape: [1, 1] }, { name: 'stateN', datatype: 'FP32', shape: [2, 1, 128] }],
  raw_output_contents: [Buffer.from(new Float32Array([0.93]).buffer), Buffer.from(new Float32Array(256).fill(-0.25).buffer)],
};

const TENSORS: Tensor[] = [
  { name: 'b', datatype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
  { name: 'i8', datatype: 'INT8', shape: [2], data: new Int8Array([-128, 127]) },
  { name: 'i16', datatype: 'INT16', shape: [2], data: new Int16Array([-32768, 32767]) },
  { name: 'i32', datatype: 'INT32', shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
  { name: 'i64', datatype: 'INT64', shape: [3], data: new BigInt64Array([-(2n ** 63n), -1n, 2n ** 63n - 1n]) },
  { name: 'u8', datatype: 'UINT8', shape: [1], data: new Uint8Array([255]) },
  { name: 'u16', datatype: 'UINT16', shape: [1], data: new Uint16Array([65535]) },
  { name: 'u32', datatype: 'UINT32', shape: [2], data: new Uint32Array([0, 2 ** 32 - 1]) },
  { name: 'u64', datatype: 'UINT64', shape: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
  { name: 'f32', datatype: 'FP32', shape: [5], data: new Float32Array([NaN, -0, Infinity, -Infinity, 1e-40]) },
  { name: 'f64', datatype: 'FP64', shape: [4], data: new Float64Array([NaN, -0, Number.MAX_VALUE, 5e-324]) },
  { name: 's', datatype: 'BYTES', shape: [3], data: [new Uint8Array(0), Buffer.from('héllo'), new Uint8Array(300).fill(7)] },
];

describe('response encoder', () => {
  it('gives protobufjs\'s bytes for a silero-vad answer', () => {
    same(SILERO);
  });

  it('encodes what encodeInferResponse builds for every datatype, raw and typed', () => {
    const result: InferResult = { model: 'all', version: '3', id: 'r', outputs: TENSORS, parameters: { 'plexus.served_by': 'n1', 'plexus.cost': 1.5, 'plexus.hops': 2, 'plexus.hedged': false } };
    same(encodeInferResponse(result, { raw: true, id: 'raw' }));
    same(encodeInferResponse(result, { raw: false, id: 'typed' }));
    const fp16: Tensor = { name: 'h', datatype: 'FP16', shape: [1], data: new Uint16Array([0x3c00]) };
    same(encodeInferResponse({ ...result, outputs: [...TENSORS, fp16] }, { raw: false, id: 'forced-raw' }));
  });

  it('handles empty messages, strings, raw entries and zero outputs', () => {
    same(response({ model_name: '', model_version: '', id: '' }));
    same(response({ raw_output_contents: [new Uint8Array(0), Buffer.alloc(0)] }));
    same(response({ outputs: [{ name: '', datatype: '', shape: [] }] }));
    same({ outputs: [], raw_output_contents: [] } as unknown as WireInferResponse);
    same(response({ outputs: [{ name: 'x', datatype: 'FP32', shape: [0], contents: {} }] }));
    same(response({ outputs: [{ name: 'x', datatype: 'FP32', shape: [0], contents: { fp32_contents: [], bytes_contents: [] } }] }));
  });

  it('writes unicode strings as UTF-8', () => {
    same(response({ model_name: 'modèle-模型-🦜', id: '\u0000\u007f\u0080\u07ff\u0800\uffff', parameters: { 'ключ🔑': { string_param: 'значение ✓ 𝄞' } } }));
    same(response({ outputs: [{ name: 'é'.repeat(40), datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('ü')] } }] }));
  });

  it('writes a lone surrogate as U+FFFD (protobufjs writes invalid UTF-8 there)', () => {
    const decoded = protobufjs.decode(encodeModelInferResponse(response({ model_name: 'a\ud800b', id: '\udfff' }))) as WireInferResponse;
    expect(decoded.model_name).toBe('a\ufffdb');
    expect(decoded.id).toBe('\ufffd');
  });

  it('writes int64 shapes and contents at their extremes, as numbers and as strings', () => {
    const shape = [-1, 0, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), '9223372036854775807', '-9223372036854775808', '18446744073709551615'];
    same(response({ outputs: [{ name: 'x', datatype: 'INT64', shape, contents: { int64_contents: shape, uint64_contents: shape } }] }));
    // What protobufjs's Long does with numbers past 2^53 or fractional: saturate and truncate.
    const odd = [2 ** 63, -(2 ** 63), 2 ** 64, 1e300, -1e300, Infinity, -Infinity, NaN, 1.9, -1.9, -0];
    same(response({ outputs: [{ name: 'x', datatype: 'INT64', shape: odd, contents: { int64_contents: odd, uint64_contents: odd } }] }));
  });

  it('writes NaN, -0 and infinities in fp32 and fp64, plain and typed', () => {
    const values = [NaN, -0, 0, Infinity, -Infinity, 3.4028234663852886e38, 1e39, 1e-46, Number.MIN_VALUE];
    same(response({ outputs: [{ name: 'x', datatype: 'FP32', shape: [9], contents: { fp32_contents: values, fp64_contents: values } }] }));
    same(response({ outputs: [{ name: 'x', datatype: 'FP32', shape: [9], contents: { fp32_contents: Float32Array.from(values), fp64_contents: Float64Array.from(values) } }] }));
    const quietNaN = new Float32Array(new Uint32Array([0x7fc00001]).buffer);
    const decoded = protobufjs.decode(encodeModelInferResponse(response({ outputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32_contents: quietNaN } }] }))) as WireInferResponse;
    expect(decoded.outputs[0]?.contents?.fp32_contents).toEqual([NaN]);
  });

  it('writes long plain float arrays (copied in chunks) like short ones', () => {
    const fp32 = Array.from({ length: 1300 }, (_, i) => (i % 7 === 0 ? NaN : i / 3 - 200));
    const fp64 = Array.from({ length: 700 }, (_, i) => (i % 5 === 0 ? -0 : Math.PI * i));
    for (const n of [511, 512, 513, 1024, 1300]) {
      same(response({ outputs: [{ name: 'x', datatype: 'FP32', shape: [n], contents: { fp32_contents: fp32.slice(0, n), fp64_contents: fp64.slice(0, n >> 1) } }] }));
    }
  });

  it('writes every parameter kind, several members of the oneof, and empty parameters', () => {
    const parameters: WireParameters = {
      t: { bool_param: true }, f: { bool_param: false, parameter_choice: 'bool_param' },
      i: { int64_param: -1 }, imax: { int64_param: '9223372036854775807' }, imin: { int64_param: '-9223372036854775808' },
      u: { uint64_param: '18446744073709551615' }, u0: { uint64_param: 0 }, s: { string_param: '' }, s2: { string_param: 'x'.repeat(4096) },
      d: { double_param: -0 }, dn: { double_param: NaN }, dm: { double_param: Number.MAX_VALUE },
      all: { bool_param: true, int64_param: 5, string_param: 'five', double_param: 5.5, uint64_param: 6 },
      none: {}, '': { string_param: 'empty key' }, 7: { int64_param: 7 },
    };
    same(response({ parameters, outputs: [{ name: 'o', datatype: 'FP32', shape: [1], parameters }] }));
  });

  it('writes lengths across varint boundaries and grows its size stack', () => {
    for (const n of [127, 128, 16383, 16384, 2_097_151, 2_097_152]) {
      same(response({ model_name: 'n'.repeat(n === 2_097_152 ? 200_000 : 100), raw_output_contents: [new Uint8Array(n)] }));
    }
    const parameters: WireParameters = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, { string_param: `v${i}` }]));
    const outputs: WireOutputTensor[] = Array.from({ length: 100 }, (_, i) => ({ name: `o${i}`, datatype: 'INT64', shape: [1, i], parameters, contents: { int64_contents: [i, -i] } }));
    same(response({ parameters, outputs }));
  });

  it('encodes ModelStreamInferResponse: answers, errors and partial answers', () => {
    const cases = [
      { error_message: '', infer_response: SILERO },
      streamErrorResponse(new InvalidInputError('bad ünïcode input'), { model_name: 'm', id: 'q' }),
      { error_message: 'x', infer_response: null },
      { error_message: '', infer_response: {} },
      { error_message: 'e', infer_response: { id: 'only id', parameters: { k: { string_param: 'v' } } } },
    ];
    for (const m of cases) expectSameStreamAsProtobufjs(encodeModelStreamInferResponse(m), m);
  });
});

describe('response encoder fallback and installation', () => {
  const service = loadServices().inference.service;
  const bounded = withBoundedInferDecoding(service, { maxTypedElements: 1000, maxBytesElements: 100 });

  it('leaves to protobufjs what it does not take, which encodes it or throws as before', () => {
    const odd = [
      response({ outputs: [{ name: 'x', datatype: 'INT64', shape: ['0x10', ' 5'] }] }),
      response({ raw_output_contents: ['AAEC' as unknown as Uint8Array] }),
      response({ parameters: { k: { int64_param: '1e3' } } }),
    ];
    const serialize = withFallback(encodeModelInferResponse, (m) => protobufjs.encode(m));
    for (const m of odd) {
      expect(() => encodeModelInferResponse(m)).toThrow(EncodeFallback);
      expect(serialize(m).toString('hex')).toBe(protobufjs.encode(m).toString('hex'));
    }
    const junk = response({ outputs: 'not a list' as unknown as WireOutputTensor[] });
    expect(() => serialize(junk)).toThrow(/array expected/);
    // A fault of the fast path itself is not covered up by the fallback.
    const broken = withFallback<WireInferResponse>(() => { throw new RangeError('encoder bug'); }, (m) => protobufjs.encode(m));
    expect(() => broken(response({}))).toThrow(/encoder bug/);
  });

  it('is grpc-js\'s responseSerialize for ModelInfer and ModelStreamInfer', () => {
    const lone = response({ id: '\ud800' });
    const infer = bounded.ModelInfer?.responseSerialize(lone);
    const stream = bounded.ModelStreamInfer?.responseSerialize({ error_message: '', infer_response: lone });
    expect((protobufjs.decode(infer as Buffer) as WireInferResponse).id).toBe('\ufffd');
    expect((protobufjs.decodeStream(stream as Buffer) as { infer_response: WireInferResponse }).infer_response.id).toBe('\ufffd');
    expect(bounded.ModelInfer?.responseSerialize(SILERO)).toEqual(protobufjs.encode(SILERO));
  });
});
