// Property tests of the hand-written response encoder (src/node/grpc/infer-encoder.ts): for any
// ModelInferResponse / ModelStreamInferResponse the wire types allow (plain or typed arrays,
// int64 as numbers or decimal strings, parameters of every kind, unicode strings) it must give
// the bytes protobufjs gives for the same message, without falling back to protobufjs.
import * as fc from 'fast-check';
import { describe, it } from 'vitest';
import { encodeModelInferResponse, encodeModelStreamInferResponse } from '../../../src/node/grpc/infer-encoder.ts';
import type { WireInferResponse, WireStreamInferResponse } from '../../../src/wire/messages.ts';
import { expectSameAsProtobufjs, expectSameStreamAsProtobufjs } from './encoder-reference.ts';

const RUNS = 400;
const I64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const U64 = { min: 0n, max: 2n ** 64n - 1n };

const str = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 100, maxLength: 300 }) },
);
/** int64 as the wire types allow it: any number (fractions truncate, out of range saturates) or a decimal string. */
const int64 = fc.oneof(
  fc.integer(), fc.maxSafeInteger(), fc.double(),
  fc.bigInt(I64).map(String), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
);
const uint64 = fc.oneof(fc.nat(), fc.maxSafeNat(), fc.integer({ min: -5, max: -1 }), fc.bigInt(U64).map(String));
const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), fc.uint8Array({ maxLength: 200 }));

const oneParam = fc.oneof(
  fc.record({ bool_param: fc.boolean() }),
  fc.record({ int64_param: int64 }),
  fc.record({ uint64_param: uint64 }),
  fc.record({ string_param: str }),
  fc.record({ double_param: fc.double() }),
).map((p) => ({ ...p, parameter_choice: Object.keys(p)[0] }));
/** Several members of the oneof at once: protobufjs writes every one that is set, in field order. */
const manyParams = fc.record(
  { bool_param: fc.boolean(), int64_param: int64, string_param: str, double_param: fc.double(), uint64_param: uint64 },
  { requiredKeys: [] },
);
const params = fc.option(
  fc.dictionary(str.filter((k) => k !== '__proto__'), fc.oneof({ weight: 5, arbitrary: oneParam }, { weight: 1, arbitrary: manyParams }), { maxKeys: 5 }),
  { nil: undefined },
);

const either = <A, B>(plain: fc.Arbitrary<A>, typed: fc.Arbitrary<B>): fc.Arbitrary<A | B> => fc.oneof(plain, typed);
const contents = fc.record({
  bool_contents: either(fc.array(fc.boolean(), { maxLength: 8 }), fc.uint8Array({ maxLength: 8 })),
  int_contents: either(fc.array(fc.integer(), { maxLength: 8 }), fc.int32Array({ maxLength: 8 })),
  int64_contents: either(fc.array(int64, { maxLength: 8 }), fc.bigInt64Array({ maxLength: 8 })),
  uint_contents: either(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }), { maxLength: 8 }), fc.uint32Array({ maxLength: 8 })),
  uint64_contents: either(fc.array(uint64, { maxLength: 8 }), fc.bigUint64Array({ maxLength: 8 })),
  fp32_contents: either(fc.array(fc.oneof(fc.float(), fc.double()), { maxLength: 8 }), fc.float32Array({ maxLength: 8 })),
  fp64_contents: either(fc.array(fc.double(), { maxLength: 8 }), fc.float64Array({ maxLength: 8 })),
  bytes_contents: fc.array(bytes, { maxLength: 4 }),
}, { requiredKeys: [] });

const output = fc.record({
  name: str,
  datatype: fc.constantFrom('FP32', 'INT64', 'BYTES', 'BOOL', ''),
  shape: fc.array(fc.oneof(fc.integer({ min: -1, max: 1000 }), int64), { maxLength: 5 }),
  parameters: params,
  contents: fc.option(contents, { nil: undefined }),
}, { requiredKeys: ['name', 'datatype', 'shape'] });

const response = fc.record({
  model_name: str, model_version: str, id: str, parameters: params,
  outputs: fc.array(output, { maxLength: 4 }),
  raw_output_contents: fc.array(bytes, { maxLength: 4 }),
}, { requiredKeys: ['model_name', 'model_version', 'id', 'outputs', 'raw_output_contents'] }) as fc.Arbitrary<WireInferResponse>;

describe('response encoder, property', () => {
  it('gives protobufjs\'s bytes for any ModelInferResponse', () => {
    fc.assert(fc.property(response, (m) => { expectSameAsProtobufjs(encodeModelInferResponse(m), m); }), { numRuns: RUNS });
  });

  it('gives protobufjs\'s bytes for any ModelStreamInferResponse', () => {
    const partial = fc.record({
      model_name: str, id: str, parameters: params, outputs: fc.array(output, { maxLength: 2 }), raw_output_contents: fc.array(bytes, { maxLength: 2 }),
    }, { requiredKeys: [] });
    const stream = fc.record({
      error_message: str,
      infer_response: fc.oneof(response, partial, fc.constant(null)),
    }, { requiredKeys: ['error_message'] }) as fc.Arbitrary<WireStreamInferResponse>;
    fc.assert(fc.property(stream, (m) => { expectSameStreamAsProtobufjs(encodeModelStreamInferResponse(m), m); }), { numRuns: RUNS });
  });
});
