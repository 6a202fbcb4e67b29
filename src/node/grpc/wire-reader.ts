// Protobuf wire-format primitives over one buffer: tags, varints, length-delimited ranges,
// skipping. Nothing here allocates per element; malformed input throws MalformedMessageError.
import { InputLimitError, MalformedMessageError } from '../../errors.ts';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;
/** Strings in the messages read here are names, ids, datatypes and parameter values (at most 4,096 characters). */
export const MAX_STRING_BYTES = 65_536;

export class WireReader {
  pos: number;
  /** Low and high 32 bits (unsigned) of the last varint64(). */
  lo = 0;
  hi = 0;

  readonly buf: Uint8Array;
  readonly end: number;
  readonly what: string;

  constructor(buf: Uint8Array, pos: number, end: number, what: string) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.what = what;
  }

  more(): boolean {
    return this.pos < this.end;
  }

  fail(why: string): never {
    throw new MalformedMessageError(`${this.what} is not a valid protobuf message: ${why} at byte ${this.pos}`);
  }

  /** A varint of at most 10 bytes into lo/hi. */
  varint64(): void {
    const { buf, end } = this;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) this.fail('truncated varint');
      const b = buf[this.pos++] ?? 0;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) { lo |= (b & 0x0f) << 28; hi |= (b & 0x7f) >>> 4; }
      else hi |= (b & 0x7f) << (shift - 32);
      if ((b & 0x80) === 0) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
      shift += 7;
    }
    this.fail('varint longer than 10 bytes');
  }

  /** A varint's low 32 bits, unsigned (tags, lengths, uint32). */
  uint32(): number {
    this.varint64();
    return this.lo;
  }

  /** A length prefix; the range it names must lie within this reader. Returns its end. */
  len(): number {
    this.varint64();
    if (this.hi !== 0 || this.lo > this.end - this.pos) this.fail('length past the end of the message');
    return this.pos + this.lo;
  }

  /** Skip one field's value of the given wire type (unknown fields). */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT: this.varint64(); return;
      case WIRE_FIXED64: this.advance(8); return;
      case WIRE_LEN: this.pos = this.len(); return;
      case WIRE_FIXED32: this.advance(4); return;
      default: this.fail(`unsupported wire type ${wireType}`);
    }
  }

  advance(n: number): void {
    if (n > this.end - this.pos) this.fail('truncated fixed-width value');
    this.pos += n;
  }

  /** A UTF-8 string field (invalid sequences become U+FFFD); longer than MAX_STRING_BYTES is refused. */
  string(): string {
    const end = this.len();
    if (end - this.pos > MAX_STRING_BYTES) {
      throw new InputLimitError(`${this.what} has a string field of ${end - this.pos} bytes; at most ${MAX_STRING_BYTES} are accepted (names, ids and parameter values are far shorter)`);
    }
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, end - this.pos).toString('utf8');
    this.pos = end;
    return s;
  }

  /** A bytes field as a view over the message (no copy). */
  bytes(): Uint8Array {
    const end = this.len();
    const b = this.buf.subarray(this.pos, end);
    this.pos = end;
    return b;
  }

  /** A reader over a length-delimited sub-message. */
  sub(what: string): WireReader {
    const end = this.len();
    const r = new WireReader(this.buf, this.pos, end, what);
    this.pos = end;
    return r;
  }
}

/**
 * Elements in a packed run of varints [pos, end): one per byte with the top bit clear. Stops
 * once past `cap` (the caller refuses the message then), so a flood costs at most ~10 x cap bytes.
 */
export function countPackedVarints(r: WireReader, end: number, cap: number): number {
  const { buf } = r;
  if (end > r.pos && ((buf[end - 1] ?? 0) & 0x80) !== 0) r.fail('packed varints end mid-value');
  let n = 0;
  for (let i = r.pos; i < end; i++) {
    if (((buf[i] ?? 0) & 0x80) === 0 && ++n > cap) return n;
  }
  return n;
}

/** The value of lo/hi as a safe integer, or a decimal string past 2^53 (int64 as text, like proto-loader). */
export function int64Text(lo: number, hi: number, signed: boolean): string {
  const v = (BigInt(hi) << 32n) | BigInt(lo);
  return (signed ? BigInt.asIntN(64, v) : v).toString();
}
