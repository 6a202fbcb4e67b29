// InferTensorContents for the response encoder (infer-encoder.ts): size and write passes over
// its eight repeated fields, numeric ones packed (proto3). Arrays may be plain (as protobufjs
// takes them) or typed (Float32Array, BigInt64Array...); typed float arrays are copied whole.
import type { WireTensorContents } from '../../wire/messages.ts';
import { bytesOf, EncodeFallback, varint32Size, varint64Size, type WireWriter } from './wire-writer.ts';

type Kind = 'bool' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'fixed32' | 'fixed64';
type Field = Exclude<keyof WireTensorContents, 'bytes_contents'>;
type Values = ArrayLike<unknown>;

/** Packed fields in field-number order: name, 1-byte tag (wire type 2), element encoding. */
const PACKED: readonly { readonly field: Field; readonly tag: number; readonly kind: Kind }[] = [
  { field: 'bool_contents', tag: 0x0a, kind: 'bool' }, { field: 'int_contents', tag: 0x12, kind: 'int32' },
  { field: 'int64_contents', tag: 0x1a, kind: 'int64' }, { field: 'uint_contents', tag: 0x22, kind: 'uint32' },
  { field: 'uint64_contents', tag: 0x2a, kind: 'uint64' }, { field: 'fp32_contents', tag: 0x32, kind: 'fixed32' },
  { field: 'fp64_contents', tag: 0x3a, kind: 'fixed64' },
];
const BYTES_TAG = 0x42;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Plain arrays of floats go through these in chunks: one JS loop and one copy per chunk, no call per element. */
const F32 = new Float32Array(512);
const F64 = new Float64Array(256);
const F32_BYTES = Buffer.from(F32.buffer);
const F64_BYTES = Buffer.from(F64.buffer);

/** The array of a repeated field, or undefined when absent or empty. */
function present(v: unknown): Values | undefined {
  if (v == null) return undefined;
  if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView))) throw new EncodeFallback('contents field is not an array');
  const a = v as Values;
  return a.length > 0 ? a : undefined;
}

/** 64-bit elements' 32-bit halves, read in place (no bigint per element). */
function words(a: Values): Uint32Array | undefined {
  if (!(a instanceof BigInt64Array) && !(a instanceof BigUint64Array)) return undefined;
  return new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
}

/** Floats copied as bytes (little-endian host, the same element type). */
function floatBytes(kind: Kind, a: Values): Uint8Array | undefined {
  const same = (kind === 'fixed32' && a instanceof Float32Array) || (kind === 'fixed64' && a instanceof Float64Array);
  return same && LITTLE_ENDIAN ? new Uint8Array(a.buffer, a.byteOffset, a.byteLength) : undefined;
}

function packedSize(w: WireWriter, kind: Kind, a: Values): number {
  const n = a.length;
  switch (kind) {
    case 'bool': return n;
    case 'fixed32': return 4 * n;
    case 'fixed64': return 8 * n;
    case 'int32': {
      let size = 0;
      for (let i = 0; i < n; i++) { const v = (a[i] as number) | 0; size += v < 0 ? 10 : varint32Size(v); }
      return size;
    }
    case 'uint32': {
      let size = 0;
      for (let i = 0; i < n; i++) size += varint32Size((a[i] as number) >>> 0);
      return size;
    }
    case 'int64': case 'uint64': {
      let size = 0;
      const halves = words(a);
      if (halves !== undefined) {
        for (let i = 0; i < n; i++) size += varint64Size(halves[2 * i] ?? 0, halves[2 * i + 1] ?? 0);
        return size;
      }
      const unsigned = kind === 'uint64';
      for (let i = 0; i < n; i++) { w.setInt64(a[i], unsigned); size += varint64Size(w.lo, w.hi); }
      return size;
    }
  }
}

/** Floats from a plain array (or another element type), converted as protobufjs does (Number(v)). */
function writeFloats(w: WireWriter, a: Values, scratch: Float32Array | Float64Array, bytes: Buffer): void {
  const size = scratch.BYTES_PER_ELEMENT;
  for (let i = 0; i < a.length; i += scratch.length) {
    const k = Math.min(scratch.length, a.length - i);
    for (let j = 0; j < k; j++) scratch[j] = a[i + j] as number;
    w.pos += bytes.copy(w.buf, w.pos, 0, k * size);
  }
}

function writePacked(w: WireWriter, kind: Kind, a: Values): void {
  const n = a.length;
  const whole = floatBytes(kind, a);
  if (whole !== undefined) { w.raw(whole); return; }
  if (LITTLE_ENDIAN && kind === 'fixed32') { writeFloats(w, a, F32, F32_BYTES); return; }
  if (LITTLE_ENDIAN && kind === 'fixed64') { writeFloats(w, a, F64, F64_BYTES); return; }
  const halves = kind === 'int64' || kind === 'uint64' ? words(a) : undefined;
  const unsigned = kind === 'uint64';
  for (let i = 0; i < n; i++) {
    switch (kind) {
      case 'bool': w.byte(a[i] ? 1 : 0); break;
      case 'int32': {
        const v = (a[i] as number) | 0;
        if (v < 0) { w.lo = v >>> 0; w.hi = 0xffffffff; w.varint64(); } else w.uint32(v);
        break;
      }
      case 'uint32': w.uint32((a[i] as number) >>> 0); break;
      case 'int64': case 'uint64':
        if (halves !== undefined) { w.lo = halves[2 * i] ?? 0; w.hi = halves[2 * i + 1] ?? 0; } else w.setInt64(a[i], unsigned);
        w.varint64();
        break;
      case 'fixed32': w.float(a[i] as number); break;
      case 'fixed64': w.double(a[i] as number); break;
    }
  }
}

export function contentsSize(w: WireWriter, c: WireTensorContents): number {
  let size = 0;
  for (const spec of PACKED) {
    const a = present(c[spec.field]);
    if (a !== undefined) size += w.nested(w.reserve(), packedSize(w, spec.kind, a));
  }
  const bytes = present(c.bytes_contents);
  if (bytes !== undefined) {
    for (let i = 0; i < bytes.length; i++) {
      const len = bytesOf(bytes[i], 'bytes element').byteLength;
      size += 1 + varint32Size(len) + len;
    }
  }
  return size;
}

export function writeContents(w: WireWriter, c: WireTensorContents): void {
  for (const spec of PACKED) {
    const a = present(c[spec.field]);
    if (a === undefined) continue;
    w.byte(spec.tag);
    w.uint32(w.take());
    writePacked(w, spec.kind, a);
  }
  const bytes = present(c.bytes_contents);
  if (bytes !== undefined) {
    for (let i = 0; i < bytes.length; i++) {
      w.byte(BYTES_TAG);
      w.bytes(bytesOf(bytes[i], 'bytes element'));
    }
  }
}
