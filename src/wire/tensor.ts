// Tensors in KServe v2 raw form: little-endian, row-major; BYTES elements each carry a 4-byte
// little-endian length prefix. Decoding makes a typed-array view over the same buffer when the
// offset is aligned, and copies only when it is not.
import { InvalidInputError } from '../errors.ts';
import type { DataType, Tensor, TensorData } from './types.ts';

export const MAX_RANK = 8;
export const MAX_ELEMENTS = 2 ** 31;

/** ORT's name for each datatype; BF16 has no ONNX Runtime JS type. */
export type OrtTypeName =
  | 'bool' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'int8' | 'int16' | 'int32' | 'int64'
  | 'float16' | 'float32' | 'float64' | 'string';

interface DataTypeInfo {
  /** Bytes per element; 0 for BYTES (variable length). */
  readonly bytes: number;
  readonly ort: OrtTypeName | undefined;
}

export const DATATYPES: Readonly<Record<DataType, DataTypeInfo>> = {
  BOOL: { bytes: 1, ort: 'bool' },
  UINT8: { bytes: 1, ort: 'uint8' },
  UINT16: { bytes: 2, ort: 'uint16' },
  UINT32: { bytes: 4, ort: 'uint32' },
  UINT64: { bytes: 8, ort: 'uint64' },
  INT8: { bytes: 1, ort: 'int8' },
  INT16: { bytes: 2, ort: 'int16' },
  INT32: { bytes: 4, ort: 'int32' },
  INT64: { bytes: 8, ort: 'int64' },
  FP16: { bytes: 2, ort: 'float16' },
  FP32: { bytes: 4, ort: 'float32' },
  FP64: { bytes: 8, ort: 'float64' },
  BF16: { bytes: 2, ort: undefined },
  BYTES: { bytes: 0, ort: 'string' },
};

const ORT_TO_DATATYPE: Readonly<Record<string, DataType>> = Object.fromEntries(
  Object.entries(DATATYPES).flatMap(([dt, info]) => (info.ort === undefined ? [] : [[info.ort, dt]])),
) as Record<string, DataType>;

export function isDataType(s: string): s is DataType {
  return Object.hasOwn(DATATYPES, s);
}

export function dataTypeFromOrt(ortType: string): DataType | undefined {
  return ORT_TO_DATATYPE[ortType];
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Product of the dimensions (1 for a scalar). Assumes a checked shape. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Reject shapes a peer could use to exhaust memory or that no tensor can have. */
export function checkShape(name: string, shape: readonly number[]): void {
  if (shape.length > MAX_RANK) {
    throw new InvalidInputError(`input '${name}': shape ${formatShape(shape)} has rank ${shape.length}; expected at most ${MAX_RANK} dimensions`);
  }
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new InvalidInputError(`input '${name}': shape ${formatShape(shape)} has dimension ${d}; expected non-negative integers`);
    }
    n *= d;
  }
  if (n > MAX_ELEMENTS) {
    throw new InvalidInputError(`input '${name}': shape ${formatShape(shape)} has ${n} elements; expected at most 2^31`);
  }
}

type TypedCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Exclude<TensorData, Uint8Array[]>;

const CTORS: Readonly<Record<Exclude<DataType, 'BYTES'>, TypedCtor>> = {
  BOOL: Uint8Array, UINT8: Uint8Array, INT8: Int8Array,
  UINT16: Uint16Array, FP16: Uint16Array, BF16: Uint16Array, INT16: Int16Array,
  UINT32: Uint32Array, INT32: Int32Array, FP32: Float32Array,
  UINT64: BigUint64Array, INT64: BigInt64Array, FP64: Float64Array,
};

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
if (!HOST_IS_LITTLE_ENDIAN) throw new Error('plexus tensors assume a little-endian host');

/** Decode one tensor from its raw bytes; throws InvalidInputError on a bad shape or byte length. */
export function decodeRawTensor(name: string, datatype: DataType, shape: readonly number[], bytes: Uint8Array): Tensor {
  checkShape(name, shape);
  const count = elementCount(shape);
  if (datatype === 'BYTES') return { name, datatype, shape, data: decodeBytesElements(name, shape, count, bytes) };
  const size = DATATYPES[datatype].bytes;
  const expected = count * size;
  if (bytes.byteLength !== expected) {
    throw new InvalidInputError(
      `input '${name}': ${datatype} ${formatShape(shape)} needs ${expected} bytes (${count} elements x ${size}), got ${bytes.byteLength}`,
    );
  }
  const Ctor = CTORS[datatype];
  // Typed arrays need byteOffset % elementSize === 0; copy into a fresh buffer only otherwise.
  // (new Uint8Array(x) copies; Buffer#slice would not.)
  const source = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  return { name, datatype, shape, data: new Ctor(source.buffer, source.byteOffset, count) };
}

function decodeBytesElements(name: string, shape: readonly number[], count: number, bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let off = 0;
  for (let i = 0; i < count; i++) {
    if (off + 4 > bytes.byteLength) {
      throw new InvalidInputError(`input '${name}': BYTES ${formatShape(shape)} needs ${count} length-prefixed elements, but the data ends after ${i} (${bytes.byteLength} bytes)`);
    }
    const len = view.getUint32(off, true);
    off += 4;
    if (off + len > bytes.byteLength) {
      throw new InvalidInputError(`input '${name}': BYTES element ${i} declares ${len} bytes but only ${bytes.byteLength - off} remain`);
    }
    out.push(bytes.subarray(off, off + len));
    off += len;
  }
  if (off !== bytes.byteLength) {
    throw new InvalidInputError(`input '${name}': BYTES ${formatShape(shape)} holds ${count} elements in ${off} bytes, but got ${bytes.byteLength} bytes (${bytes.byteLength - off} trailing)`);
  }
  return out;
}

/** Raw little-endian bytes of a tensor: a view over its storage, except BYTES which is framed. */
export function encodeRawTensor(t: Tensor): Uint8Array {
  const data = t.data;
  if (Array.isArray(data)) {
    let total = 0;
    for (const el of data) total += 4 + el.byteLength;
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    let off = 0;
    for (const el of data) {
      view.setUint32(off, el.byteLength, true);
      out.set(el, off + 4);
      off += 4 + el.byteLength;
    }
    return out;
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Number of elements the data holds (BYTES: number of buffers). */
export function dataLength(data: TensorData): number {
  return data.length;
}

/** Whether the storage class matches what `datatype` requires (see TensorData docs). */
export function dataMatchesType(datatype: DataType, data: TensorData): boolean {
  if (datatype === 'BYTES') return Array.isArray(data);
  if (Array.isArray(data)) return false;
  return data instanceof CTORS[datatype];
}
