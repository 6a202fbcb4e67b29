import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.ts';
import { DATATYPES, dataTypeFromOrt, decodeRawTensor, elementCount, encodeRawTensor } from '../../src/wire/tensor.ts';

function framed(...parts: string[]): Uint8Array {
  const enc = parts.map((p) => new TextEncoder().encode(p));
  const out = new Uint8Array(enc.reduce((n, e) => n + 4 + e.length, 0));
  const dv = new DataView(out.buffer);
  let off = 0;
  for (const e of enc) {
    dv.setUint32(off, e.length, true);
    out.set(e, off + 4);
    off += 4 + e.length;
  }
  return out;
}

describe('datatype table', () => {
  it('maps sizes and ORT names both ways', () => {
    expect(DATATYPES.FP32).toEqual({ bytes: 4, ort: 'float32' });
    expect(DATATYPES.INT64.bytes).toBe(8);
    expect(DATATYPES.FP16.ort).toBe('float16');
    expect(DATATYPES.BYTES.ort).toBe('string');
    expect(dataTypeFromOrt('bool')).toBe('BOOL');
    expect(dataTypeFromOrt('int64')).toBe('INT64');
    expect(dataTypeFromOrt('string')).toBe('BYTES');
    expect(dataTypeFromOrt('float16')).toBe('FP16');
    expect(dataTypeFromOrt('uint4')).toBeUndefined();
    expect(elementCount([])).toBe(1);
    expect(elementCount([2, 3, 0])).toBe(0);
  });
});

describe('decodeRawTensor / encodeRawTensor', () => {
  it('views aligned bytes without copying and round-trips', () => {
    const src = new Float32Array([1.5, -2, 3.25, 4, 5, 6]);
    const bytes = new Uint8Array(src.buffer);
    const t = decodeRawTensor('x', 'FP32', [2, 3], bytes);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect((t.data as Float32Array).buffer).toBe(src.buffer);
    expect(Array.from(t.data as Float32Array)).toEqual([1.5, -2, 3.25, 4, 5, 6]);
    const back = encodeRawTensor(t);
    expect(back.buffer).toBe(src.buffer);
    expect(Array.from(back)).toEqual(Array.from(bytes));
  });

  it('copies when the offset is unaligned and reads little-endian', () => {
    const buf = new Uint8Array(1 + 16);
    const dv = new DataView(buf.buffer);
    dv.setBigInt64(1, -5n, true);
    dv.setBigInt64(9, 1n << 40n, true);
    const t = decodeRawTensor('ids', 'INT64', [2], buf.subarray(1));
    expect(t.data).toBeInstanceOf(BigInt64Array);
    expect((t.data as BigInt64Array).buffer).not.toBe(buf.buffer);
    expect(Array.from(t.data as BigInt64Array)).toEqual([-5n, 1n << 40n]);
  });

  it('copies an unaligned Node Buffer too (Buffer#slice does not copy)', () => {
    const whole = Buffer.alloc(1 + 8);
    whole.writeFloatLE(1.5, 1);
    whole.writeFloatLE(-2, 5);
    const t = decodeRawTensor('x', 'FP32', [2], whole.subarray(1));
    expect(Array.from(t.data as Float32Array)).toEqual([1.5, -2]);
  });

  it('decodes every fixed-size datatype to its storage class', () => {
    expect(decodeRawTensor('b', 'BOOL', [3], new Uint8Array([1, 0, 1])).data).toBeInstanceOf(Uint8Array);
    expect(decodeRawTensor('h', 'FP16', [1], new Uint8Array([0, 0x3c])).data).toEqual(new Uint16Array([0x3c00]));
    expect(decodeRawTensor('i', 'INT8', [2], new Uint8Array([255, 1])).data).toEqual(new Int8Array([-1, 1]));
    expect(decodeRawTensor('d', 'FP64', [], new Uint8Array(new Float64Array([Math.PI]).buffer)).data).toEqual(new Float64Array([Math.PI]));
  });

  it('decodes and encodes BYTES with 4-byte length prefixes', () => {
    const raw = framed('hello', '', 'wörld');
    const t = decodeRawTensor('s', 'BYTES', [3], raw);
    const els = t.data as Uint8Array[];
    expect(els.map((e) => new TextDecoder().decode(e))).toEqual(['hello', '', 'wörld']);
    expect(els[0]?.buffer).toBe(raw.buffer);
    expect(Array.from(encodeRawTensor(t))).toEqual(Array.from(raw));
  });

  it('rejects bad byte lengths naming the input, expected and actual bytes', () => {
    expect(() => decodeRawTensor('input', 'FP32', [1, 576], new Uint8Array(2000))).toThrow(InvalidInputError);
    expect(() => decodeRawTensor('input', 'FP32', [1, 576], new Uint8Array(2000)))
      .toThrow("input 'input': FP32 [1,576] needs 2304 bytes (576 elements x 4), got 2000");
    expect(() => decodeRawTensor('s', 'BYTES', [2], framed('a'))).toThrow(/input 's': BYTES \[2\] needs 2 length-prefixed elements, but the data ends after 1/);
    expect(() => decodeRawTensor('s', 'BYTES', [1], framed('abc').subarray(0, 6))).toThrow(/input 's': BYTES element 0 declares 3 bytes but only 2 remain/);
    const extra = new Uint8Array([...framed('a'), 9]);
    expect(() => decodeRawTensor('s', 'BYTES', [1], extra)).toThrow(/1 trailing/);
  });

  it('rejects negative dims, rank > 8 and > 2^31 elements', () => {
    expect(() => decodeRawTensor('x', 'UINT8', [-1], new Uint8Array(0))).toThrow(/input 'x': shape \[-1\] has dimension -1/);
    expect(() => decodeRawTensor('x', 'UINT8', [1, 1, 1, 1, 1, 1, 1, 1, 1], new Uint8Array(1))).toThrow(/rank 9; expected at most 8/);
    expect(() => decodeRawTensor('x', 'UINT8', [65536, 65536], new Uint8Array(0))).toThrow(/4294967296 elements; expected at most 2\^31/);
    expect(() => decodeRawTensor('x', 'UINT8', [1.5], new Uint8Array(0))).toThrow(/dimension 1.5/);
  });
});
