// KServe typed tensor contents (InferTensorContents) <-> internal Tensor data. Every
// datatype has exactly one repeated field; FP16 and BF16 have none and must travel raw.
import { InvalidInputError } from '../errors.ts';
import type { DataType, Tensor, TensorData } from './types.ts';
import type { WireTensorContents } from './messages.ts';

type ContentsField = keyof WireTensorContents;

const FIELD_FOR: Readonly<Record<DataType, ContentsField | undefined>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
  FP16: undefined, BF16: undefined,
};

const ALL_FIELDS: readonly ContentsField[] = [
  'bool_contents', 'int_contents', 'int64_contents', 'uint_contents',
  'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents',
];

const INT_RANGE: Partial<Record<DataType, readonly [number, number]>> = {
  INT8: [-128, 127], INT16: [-32768, 32767], UINT8: [0, 255], UINT16: [0, 65535],
};

/** True when the datatype has a typed representation (FP16/BF16 do not). */
export function hasTypedForm(datatype: DataType): boolean {
  return FIELD_FOR[datatype] !== undefined;
}

/** True when any repeated field of `contents` holds an element. */
export function hasTypedData(contents: WireTensorContents | null | undefined): boolean {
  if (!contents) return false;
  return ALL_FIELDS.some((f) => (contents[f]?.length ?? 0) > 0);
}

export function decodeTypedContents(
  name: string, datatype: DataType, shape: readonly number[], contents: WireTensorContents,
): Tensor {
  const field = FIELD_FOR[datatype];
  const where = `input '${name}'`;
  if (field === undefined) {
    throw new InvalidInputError(`${where}: ${datatype} has no typed contents field; send it in raw_input_contents`);
  }
  for (const other of ALL_FIELDS) {
    if (other !== field && (contents[other]?.length ?? 0) > 0) {
      throw new InvalidInputError(`${where}: datatype ${datatype} expects contents.${field}, got contents.${other}`);
    }
  }
  const values: ArrayLike<unknown> = contents[field] ?? [];
  const expected = shape.reduce((a, b) => a * b, 1);
  if (values.length !== expected) {
    throw new InvalidInputError(
      `${where}: shape [${shape.join(',')}] needs ${expected} elements, contents.${field} has ${values.length}`);
  }
  return { name, datatype, shape, data: toTensorData(where, datatype, values) };
}

function toTensorData(where: string, datatype: DataType, values: ArrayLike<unknown>): TensorData {
  const typed = asDecodedArray(datatype, values);
  if (typed !== undefined) return typed;
  switch (datatype) {
    case 'BOOL': return Uint8Array.from(values as boolean[], (b) => (b ? 1 : 0));
    case 'INT8': return Int8Array.from(checkedInts(where, datatype, values));
    case 'INT16': return Int16Array.from(checkedInts(where, datatype, values));
    case 'INT32': return Int32Array.from(values as number[]);
    case 'UINT8': return Uint8Array.from(checkedInts(where, datatype, values));
    case 'UINT16': return Uint16Array.from(checkedInts(where, datatype, values));
    case 'UINT32': return Uint32Array.from(values as number[]);
    case 'INT64': return BigInt64Array.from(values as (string | number)[], (v) => BigInt(v));
    case 'UINT64': return BigUint64Array.from(values as (string | number)[], (v) => BigInt(v));
    case 'FP32': return Float32Array.from(values as number[]);
    case 'FP64': return Float64Array.from(values as number[]);
    case 'BYTES': return (values as Uint8Array[]).map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    case 'FP16': case 'BF16':
      throw new InvalidInputError(`${where}: ${datatype} must be sent raw`);
  }
}

/**
 * The bounded decoder's typed arrays, used as they are when they already have the tensor's
 * element type (INT8/16, UINT8/16 still go through the range check).
 */
function asDecodedArray(datatype: DataType, values: ArrayLike<unknown>): TensorData | undefined {
  if (!ArrayBuffer.isView(values)) return undefined;
  const ok = (datatype === 'BOOL' && values instanceof Uint8Array) || (datatype === 'INT32' && values instanceof Int32Array)
    || (datatype === 'UINT32' && values instanceof Uint32Array) || (datatype === 'INT64' && values instanceof BigInt64Array)
    || (datatype === 'UINT64' && values instanceof BigUint64Array) || (datatype === 'FP32' && values instanceof Float32Array)
    || (datatype === 'FP64' && values instanceof Float64Array);
  return ok ? values : undefined;
}

function checkedInts(where: string, datatype: DataType, values: ArrayLike<unknown>): ArrayLike<number> {
  const [lo, hi] = INT_RANGE[datatype] ?? [-Infinity, Infinity];
  const ints = values as ArrayLike<number>;
  for (let i = 0; i < ints.length; i++) {
    const v = ints[i] ?? 0;
    if (v < lo || v > hi) throw new InvalidInputError(`${where}: value ${v} is out of range for ${datatype} [${lo}, ${hi}]`);
  }
  return ints;
}

export function encodeTypedContents(t: Tensor): WireTensorContents {
  const field = FIELD_FOR[t.datatype];
  if (field === undefined) throw new InvalidInputError(`output '${t.name}': ${t.datatype} can only be returned raw`);
  const d = t.data;
  if (Array.isArray(d)) return { bytes_contents: d };
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    return { [field]: Array.from(d, (v) => v.toString()) };
  }
  if (t.datatype === 'BOOL') return { bool_contents: Array.from(d as Uint8Array, (v) => v !== 0) };
  return { [field]: Array.from(d as ArrayLike<number>) };
}
