// KServe v2 REST tensor data (JSON) <-> internal TensorData. `data` may be flat or nested
// row-major arrays. Numbers are JSON numbers; INT64/UINT64 also accept decimal strings (JSON
// numbers lose precision past 2^53) and come back as numbers when safe, else strings. FP16/BF16
// travel as ordinary numbers. Non-finite floats are the strings "NaN", "Infinity", "-Infinity".
// BYTES elements: a JSON string is its UTF-8 bytes; {"b64": "..."} is base64 bytes. Outputs use
// a string when the bytes are valid UTF-8, else {"b64": ...}.
import { InvalidInputError } from '../../errors.ts';
import { elementCount, formatShape, MAX_RANK } from '../../wire/tensor.ts';
import type { DataType, Tensor, TensorData } from '../../inference/types.ts';
import { checkElements, type ElementTally } from '../input-limits.ts';

export type JsonBytes = string | { readonly b64: string };
export type JsonElement = number | string | boolean | JsonBytes;

const INT_RANGE: Partial<Record<DataType, readonly [number, number]>> = {
  INT8: [-128, 127], INT16: [-32768, 32767], INT32: [-(2 ** 31), 2 ** 31 - 1],
  UINT8: [0, 255], UINT16: [0, 65535], UINT32: [0, 2 ** 32 - 1],
};
const NON_FINITE: Readonly<Record<string, number>> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY };
/** Rounds a double to the datatype (identity for FP64), to tell whether it stays finite. */
const NARROW: Readonly<Record<'FP32' | 'FP64' | 'FP16' | 'BF16', (v: number) => number>> = {
  FP64: (v) => v,
  FP32: Math.fround,
  FP16: (v) => fromFloat16Bits(toFloat16Bits(v)),
  BF16: (v) => fromBfloat16Bits(toBfloat16Bits(v)),
};
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Flattens nested arrays (at most MAX_RANK deep) into `out`. */
function flatten(where: string, value: unknown, depth: number, out: unknown[], limit: number): void {
  if (!Array.isArray(value)) {
    if (out.length >= limit) throw new InvalidInputError(`${where}: data has more elements than the shape allows (${limit})`);
    out.push(value);
    return;
  }
  if (depth > MAX_RANK) throw new InvalidInputError(`${where}: data is nested deeper than ${MAX_RANK} levels`);
  for (const v of value) flatten(where, v, depth + 1, out, limit);
}

/** `tally` (the request's element counts and limits) is checked before any element is converted. */
export function decodeJsonTensor(name: string, datatype: DataType, shape: readonly number[], data: unknown, tally?: ElementTally): Tensor {
  const where = `input '${name}'`;
  if (data === undefined) throw new InvalidInputError(`${where} has no "data"`);
  const expected = elementCount(shape);
  if (tally !== undefined) checkElements(tally, `${where} ${formatShape(shape)}`, datatype === 'BYTES', expected);
  const flat: unknown[] = [];
  flatten(where, data, 0, flat, expected);
  if (flat.length !== expected) {
    throw new InvalidInputError(`${where}: shape ${formatShape(shape)} needs ${expected} elements, data has ${flat.length}`);
  }
  return { name, datatype, shape, data: toData(where, datatype, flat) };
}

function toData(where: string, datatype: DataType, flat: readonly unknown[]): TensorData {
  const bad = (i: number, expected: string): never => {
    throw new InvalidInputError(`${where}: element ${i} is ${JSON.stringify(flat[i])?.slice(0, 40) ?? 'undefined'}; ${datatype} expects ${expected}`);
  };
  // JSON.parse reads 1e400 as Infinity: a number the client wrote as finite must stay finite.
  const notFinite = (i: number, v: number): never => {
    throw new InvalidInputError(`${where}: element ${i} is a number out of ${datatype}'s finite range (${v > 0 ? '' : '-'}overflows to ${v > 0 ? '' : '-'}Infinity); write "Infinity" or "-Infinity" for an infinite value`);
  };
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(flat, (v, i) => (typeof v === 'boolean' ? Number(v) : bad(i, 'true or false')));
    case 'INT8': case 'INT16': case 'INT32': case 'UINT8': case 'UINT16': case 'UINT32': {
      const [lo, hi] = INT_RANGE[datatype] ?? [0, 0];
      const ints = flat.map((v, i) => (typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? v : bad(i, `an integer in [${lo}, ${hi}]`)));
      const Ctor = { INT8: Int8Array, INT16: Int16Array, INT32: Int32Array, UINT8: Uint8Array, UINT16: Uint16Array, UINT32: Uint32Array }[datatype];
      return Ctor.from(ints);
    }
    case 'INT64': case 'UINT64': {
      const [lo, hi] = datatype === 'INT64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      const big = flat.map((v, i) => {
        let b: bigint | undefined;
        if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
        else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) b = BigInt(v);
        return b !== undefined && b >= lo && b <= hi ? b : bad(i, 'an integer (a number up to 2^53, or a decimal string) in range');
      });
      return datatype === 'INT64' ? BigInt64Array.from(big) : BigUint64Array.from(big);
    }
    case 'FP32': case 'FP64': case 'FP16': case 'BF16': {
      const narrow = NARROW[datatype];
      const nums = flat.map((v, i) => {
        if (typeof v === 'number') return Number.isFinite(narrow(v)) ? v : notFinite(i, v);
        const n = typeof v === 'string' ? NON_FINITE[v] : undefined;
        return n ?? bad(i, 'a number (or "NaN", "Infinity", "-Infinity")');
      });
      if (datatype === 'FP32') return Float32Array.from(nums);
      if (datatype === 'FP64') return Float64Array.from(nums);
      return Uint16Array.from(nums, datatype === 'FP16' ? toFloat16Bits : toBfloat16Bits);
    }
    case 'BYTES':
      return flat.map((v, i) => {
        if (typeof v === 'string') return utf8Encoder.encode(v);
        if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { b64?: unknown }).b64 === 'string') {
          const b64 = (v as { b64: string }).b64;
          if (b64.length % 4 !== 0 || !BASE64.test(b64)) bad(i, 'a string or {"b64": "<base64>"} with valid base64');
          const buf = Buffer.from(b64, 'base64');
          return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
        }
        return bad(i, 'a string (UTF-8) or {"b64": "<base64>"}');
      });
  }
}

/** Output data as a flat JSON array. */
export function encodeJsonData(t: Tensor): JsonElement[] {
  const d = t.data;
  if (Array.isArray(d)) return d.map(bytesToJson);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    return Array.from(d as ArrayLike<bigint>, (v) => {
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : v.toString();
    });
  }
  if (t.datatype === 'BOOL') return Array.from(d as Uint8Array, (v) => v !== 0);
  if (t.datatype === 'FP16') return Array.from(d as Uint16Array, (b) => floatToJson(fromFloat16Bits(b), (v) => fromFloat16Bits(toFloat16Bits(v))));
  if (t.datatype === 'BF16') return Array.from(d as Uint16Array, (b) => floatToJson(fromBfloat16Bits(b), (v) => fromBfloat16Bits(toBfloat16Bits(v))));
  if (t.datatype === 'FP32') return Array.from(d as Float32Array, (v) => floatToJson(v, Math.fround));
  if (t.datatype === 'FP64') return Array.from(d as Float64Array, (v) => floatToJson(v, undefined));
  return Array.from(d as ArrayLike<number>);
}

/**
 * A finite value as the shortest decimal that reads back to the same narrow float (0.962, not
 * 0.9620000123977661 for an FP32); `narrow` rounds a double to the type (undefined for FP64).
 */
function floatToJson(v: number, narrow: ((x: number) => number) | undefined): number | string {
  if (!Number.isFinite(v)) return String(v);
  if (narrow === undefined) return v;
  for (let digits = 1; digits < 9; digits++) {
    const c = Number(v.toPrecision(digits));
    if (narrow(c) === v) return c;
  }
  return Number(v.toPrecision(9));
}

function bytesToJson(b: Uint8Array): JsonBytes {
  try {
    return utf8.decode(b);
  } catch {
    return { b64: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') };
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of v, round to nearest even. */
export function toFloat16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  e = half; // may carry into the exponent, which is still correct (up to infinity)
  return sign | e;
}

export function fromFloat16Bits(h: number): number {
  const sign = (h & 0x8000) !== 0 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits of v (the upper half of binary32), round to nearest even. */
export function toBfloat16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0] ?? 0;
  if (Number.isNaN(v)) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBfloat16Bits(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0] ?? 0;
}
