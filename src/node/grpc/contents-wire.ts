// InferTensorContents straight from the wire, in two passes over the same bytes: count the
// elements of each repeated field (no allocation), let the caller check its limits, then fill
// typed arrays of exactly that size (numeric fields) or views over the message (bytes_contents).
// Packed and unpacked encodings of a field are concatenated, as protobuf requires.
import type { WireTensorContents } from '../../wire/messages.ts';
import { countPackedVarints, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, type WireReader } from './wire-reader.ts';

type Kind = 'varint' | 'fixed32' | 'fixed64' | 'bytes';
type Field = keyof WireTensorContents;

/** Field number -> (field name, encoding); index 0 unused. */
const FIELDS: readonly (readonly [Field, Kind] | undefined)[] = [
  undefined,
  ['bool_contents', 'varint'], ['int_contents', 'varint'], ['int64_contents', 'varint'], ['uint_contents', 'varint'],
  ['uint64_contents', 'varint'], ['fp32_contents', 'fixed32'], ['fp64_contents', 'fixed64'], ['bytes_contents', 'bytes'],
];

export interface ContentsCounts {
  /** Elements per field number (1..8). */
  readonly perField: number[];
  /** All elements, every field together. */
  readonly total: number;
  readonly bytes: number;
  /** Counting stopped past a cap: the counts are lower bounds. */
  readonly over: boolean;
}

/** Counting stops as soon as one of these is passed, so a flood costs no more than the limit. */
export interface CountCaps {
  readonly total: number;
  readonly bytes: number;
}

/** Walks each contents occurrence; `each` sees (field number, reader positioned on the value, wire type). */
function walk(readers: readonly WireReader[], each: (field: number, kind: Kind, r: WireReader, wireType: number) => void): void {
  for (const r of readers) {
    const start = r.pos;
    while (r.more()) {
      const tag = r.uint32();
      const fieldNo = tag >>> 3;
      const wireType = tag & 7;
      const spec = FIELDS[fieldNo];
      if (spec === undefined) { r.skip(wireType); continue; }
      each(fieldNo, spec[1], r, wireType);
    }
    r.pos = start;
  }
}

function wrongType(r: WireReader, fieldNo: number, wireType: number): never {
  return r.fail(`contents field ${fieldNo} has wire type ${wireType}`);
}

export function countContents(readers: readonly WireReader[], caps: CountCaps): ContentsCounts {
  const perField = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  let total = 0;
  let over = false;
  walk(readers, (f, kind, r, wt) => {
    let n = 1;
    if (kind === 'bytes') {
      if (wt !== WIRE_LEN) wrongType(r, f, wt);
      r.skip(wt);
    } else if (wt === WIRE_LEN) {
      const end = r.len();
      const size = kind === 'fixed32' ? 4 : kind === 'fixed64' ? 8 : 0;
      if (size === 0) n = countPackedVarints(r, end, caps.total - total);
      else if ((end - r.pos) % size !== 0) r.fail(`packed field ${f} is not a whole number of ${size}-byte values`);
      else n = (end - r.pos) / size;
      r.pos = end;
    } else if ((kind === 'varint' && wt === WIRE_VARINT) || (kind === 'fixed32' && wt === WIRE_FIXED32) || (kind === 'fixed64' && wt === WIRE_FIXED64)) {
      r.skip(wt);
    } else {
      wrongType(r, f, wt);
    }
    perField[f] = (perField[f] ?? 0) + n;
    total += n;
    if (total > caps.total || (perField[8] ?? 0) > caps.bytes) {
      over = true;
      r.pos = r.end; // stop here: the message is refused whatever follows
    }
  });
  return { perField, total, bytes: perField[8] ?? 0, over };
}

type Sink = (r: WireReader, i: number) => void;

/** Fills the contents whose counts were checked; fields without elements are empty arrays. */
export function fillContents(readers: readonly WireReader[], counts: ContentsCounts): WireTensorContents {
  const n = (f: number): number => counts.perField[f] ?? 0;
  const bool = new Uint8Array(n(1));
  const int = new Int32Array(n(2));
  const int64 = new BigInt64Array(n(3));
  const uint = new Uint32Array(n(4));
  const uint64 = new BigUint64Array(n(5));
  const fp32 = new Float32Array(n(6));
  const fp64 = new Float64Array(n(7));
  const bytes: Uint8Array[] = [];
  const i64words = new Uint32Array(int64.buffer);
  const u64words = new Uint32Array(uint64.buffer);
  const fp32Bytes = new Uint8Array(fp32.buffer);
  const fp64Bytes = new Uint8Array(fp64.buffer);
  const sinks: readonly (Sink | undefined)[] = [
    undefined,
    (r, i) => { r.varint64(); bool[i] = r.lo !== 0 || r.hi !== 0 ? 1 : 0; },
    (r, i) => { r.varint64(); int[i] = r.lo | 0; },
    (r, i) => { r.varint64(); i64words[2 * i] = r.lo; i64words[2 * i + 1] = r.hi; },
    (r, i) => { r.varint64(); uint[i] = r.lo; },
    (r, i) => { r.varint64(); u64words[2 * i] = r.lo; u64words[2 * i + 1] = r.hi; },
    (r, i) => { copyFixed(r, fp32Bytes, i * 4, 4); },
    (r, i) => { copyFixed(r, fp64Bytes, i * 8, 8); },
    (r) => { bytes.push(r.bytes()); },
  ];
  const next = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  walk(readers, (f, kind, r, wt) => {
    const sink = sinks[f];
    if (sink === undefined) return;
    let i = next[f] ?? 0;
    if (kind !== 'bytes' && wt === WIRE_LEN) {
      const end = r.len();
      if (kind === 'varint') {
        while (r.pos < end) sink(r, i++);
      } else {
        const size = kind === 'fixed32' ? 4 : 8;
        const len = end - r.pos;
        copyFixed(r, size === 4 ? fp32Bytes : fp64Bytes, i * size, len);
        i += len / size;
      }
    } else {
      sink(r, i++);
    }
    next[f] = i;
  });
  const pick = <T extends ArrayLike<unknown>>(a: T): T | [] => (a.length > 0 ? a : []);
  return {
    bool_contents: pick(bool), int_contents: pick(int), int64_contents: pick(int64), uint_contents: pick(uint),
    uint64_contents: pick(uint64), fp32_contents: pick(fp32), fp64_contents: pick(fp64), bytes_contents: bytes,
  };
}

/** Copies `size` bytes of the message into `into` at `offset` (little-endian host: bytes are the values). */
function copyFixed(r: WireReader, into: Uint8Array, offset: number, size: number): void {
  const at = r.pos;
  r.advance(size);
  into.set(r.buf.subarray(at, at + size), offset);
}
