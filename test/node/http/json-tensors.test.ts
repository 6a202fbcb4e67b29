// JSON tensor data rules of the REST API: every datatype in and out, with the edge cases JSON
// makes awkward (64-bit integers, non-finite floats, half floats, non-UTF-8 bytes).
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.ts';
import type { DataType } from '../../../src/inference/types.ts';
import { decodeJsonTensor, encodeJsonData, fromBfloat16Bits, fromFloat16Bits, toBfloat16Bits, toFloat16Bits } from '../../../src/node/http/json-tensors.ts';

const roundTrip = (datatype: DataType, shape: number[], data: unknown): unknown[] => encodeJsonData(decodeJsonTensor('x', datatype, shape, data));

describe('JSON tensor data', () => {
  it('round-trips every datatype, flat or nested', () => {
    expect(roundTrip('BOOL', [2], [true, false])).toEqual([true, false]);
    expect(roundTrip('INT8', [2, 2], [[-128, 127], [0, 1]])).toEqual([-128, 127, 0, 1]);
    expect(roundTrip('UINT32', [1], [4294967295])).toEqual([4294967295]);
    expect(roundTrip('INT64', [3], ['-9223372036854775808', 42, '9007199254740993'])).toEqual(['-9223372036854775808', 42, '9007199254740993']);
    expect(roundTrip('UINT64', [1], ['18446744073709551615'])).toEqual(['18446744073709551615']);
    expect(roundTrip('FP32', [4], [0.1, -2.5, 'NaN', '-Infinity'])).toEqual([0.1, -2.5, 'NaN', '-Infinity']);
    expect(roundTrip('FP64', [1], [0.1])).toEqual([0.1]);
    // The shortest decimal that reads back to the same half (numpy prints 65504 as 65500 too).
    expect(roundTrip('FP16', [3], [1.5, 65504, 0.1])).toEqual([1.5, 65500, 0.1]);
    expect(roundTrip('BF16', [2], [1.5, 3.140625])).toEqual([1.5, 3.14]);
    expect(roundTrip('BYTES', [2], ['héllo', { b64: Buffer.from([0xff, 0x00]).toString('base64') }])).toEqual(['héllo', { b64: '/wA=' }]);
    expect(roundTrip('INT64', [], 16000)).toEqual([16000]);
  });

  it('converts half floats like IEEE 754 (round to nearest even, subnormals, overflow)', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65520)).toBe(0x7c00); // rounds up to infinity
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(fromFloat16Bits(0x0001)).toBe(2 ** -24);
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie to even
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
    expect(toBfloat16Bits(1)).toBe(0x3f80);
    expect(fromBfloat16Bits(0xc040)).toBe(-3);
  });

  it('refuses wrong element types, counts and ranges naming the element', () => {
    const refuses = (datatype: DataType, shape: number[], data: unknown, message: RegExp): void => {
      expect(() => decodeJsonTensor('x', datatype, shape, data)).toThrow(InvalidInputError);
      expect(() => decodeJsonTensor('x', datatype, shape, data)).toThrow(message);
    };
    refuses('UINT8', [1], [256], /element 0 is 256; UINT8 expects an integer in \[0, 255\]/);
    refuses('INT64', [1], ['1e3'], /INT64 expects an integer/);
    refuses('UINT64', [1], [-1], /UINT64 expects an integer/);
    refuses('BOOL', [1], [1], /BOOL expects true or false/);
    refuses('FP32', [2], [1], /needs 2 elements, data has 1/);
    refuses('FP32', [1], [1, 2], /more elements than the shape allows/);
    refuses('BYTES', [1], [3], /BYTES expects a string/);
    refuses('FP32', [1], undefined, /has no "data"/);
  });
});
