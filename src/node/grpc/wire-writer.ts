// Protobuf wire-format writing into one Buffer of exactly the message's size. A size pass walks
// the message first and keeps every length it will need (strings' UTF-8 lengths, nested messages'
// and packed fields' body sizes) on a stack, in the order the write pass reads them back; the
// write pass then fills a single Buffer.allocUnsafe of the total. Nothing here allocates per field.
// Encoding follows protobufjs's fromObject + encode (what grpc-js used before), so both give the
// same bytes; a value protobufjs would coerce in some way not copied here throws EncodeFallback.

/** A value the fast encoder leaves to protobufjs (e.g. an int64 given as a non-decimal string). */
export class EncodeFallback extends Error {}

/** A bytes field's value; anything but a Uint8Array (Buffer included) is left to protobufjs. */
export function bytesOf(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new EncodeFallback(`${what} is not a Uint8Array`);
  return v;
}

const TWO_32 = 4294967296;
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const MAX_UINT64 = 2n ** 64n - 1n;
const LOW_32 = 0xffffffffn;
/** Decimal integers short enough (15 digits) to be exact as a double. */
const SHORT_DECIMAL = /^-?\d{1,15}$/;
const DECIMAL = /^-?\d+$/;
const EMPTY = Buffer.alloc(0);

/** Bytes of a varint holding the unsigned 32-bit value v. */
export function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Bytes of a varint holding the 64-bit value (lo, hi), both unsigned 32-bit halves. */
export function varint64Size(lo: number, hi: number): number {
  if (hi === 0) return varint32Size(lo);
  const mid = ((lo >>> 28) | (hi << 4)) >>> 0;
  const top = hi >>> 24;
  if (top !== 0) return top < 0x80 ? 9 : 10;
  return mid < 0x4000 ? (mid < 0x80 ? 5 : 6) : mid < 0x200000 ? 7 : 8;
}

/** UTF-8 length of s as Buffer.write encodes it (a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

/**
 * A number as protobufjs's Long.fromNumber makes it: NaN is 0, fractions truncate, out of range
 * saturates (a negative uint64 is 0).
 */
function numberToBigInt(v: number, unsigned: boolean): bigint {
  if (Number.isNaN(v)) return 0n;
  if (unsigned) {
    if (v < 0) return 0n;
    if (v >= 2 ** 64) return MAX_UINT64;
  } else {
    if (v <= -(2 ** 63)) return MIN_INT64;
    if (v + 1 >= 2 ** 63) return MAX_INT64;
  }
  return BigInt(Math.trunc(v));
}

export class WireWriter {
  buf: Buffer = EMPTY;
  pos = 0;
  /** Halves of the last int64 given to setInt64 (unsigned 32-bit each; int64 and uint64 share bits). */
  lo = 0;
  hi = 0;
  /** Lengths from the size pass, in the order the write pass takes them. */
  #sizes = new Float64Array(64);
  #top = 0;
  #next = 0;

  /** Starts a size pass. */
  begin(): void {
    this.#top = 0;
  }

  /** A slot for a length known only later (a nested message's body, filled by nested()). */
  reserve(): number {
    if (this.#top === this.#sizes.length) {
      const grown = new Float64Array(this.#sizes.length * 2);
      grown.set(this.#sizes);
      this.#sizes = grown;
    }
    return this.#top++;
  }

  /** Records a nested body's size in its slot; returns the field's size (1-byte tag, length, body). */
  nested(slot: number, body: number): number {
    this.#sizes[slot] = body;
    return 1 + varint32Size(body) + body;
  }

  /** Size of a string field (1-byte tag); its UTF-8 length is kept for the write pass. */
  stringSize(s: string): number {
    const len = utf8Length(s);
    const slot = this.reserve(); // before reading #sizes: reserve() may replace it
    this.#sizes[slot] = len;
    return 1 + varint32Size(len) + len;
  }

  /** Ends the size pass: the buffer for the write pass. */
  alloc(size: number): void {
    this.buf = Buffer.allocUnsafe(size);
    this.pos = 0;
    this.#next = 0;
  }

  /** The next length recorded by the size pass. */
  take(): number {
    return this.#sizes[this.#next++] ?? 0;
  }

  /** Ends the write pass; both passes must have agreed to the byte. */
  finish(): Buffer {
    const { buf } = this;
    this.buf = EMPTY;
    if (this.pos !== buf.length || this.#next !== this.#top) {
      throw new Error(`protobuf encoder: size pass gave ${buf.length} bytes / ${this.#top} lengths, write pass ${this.pos} / ${this.#next}`);
    }
    return buf;
  }

  /**
   * Sets lo/hi from an int64 or uint64 value as protobufjs's fromObject reads it: a number as
   * Long.fromNumber (saturating), a decimal string modulo 2^64 (Long.fromString, "-1" is
   * 2^64-1 either way), a bigint (from BigInt64Array contents) modulo 2^64.
   */
  setInt64(v: unknown, unsigned: boolean): void {
    if (typeof v === 'number') this.#setNumber(v, unsigned);
    else if (typeof v === 'string' && SHORT_DECIMAL.test(v)) this.#setNumber(Number(v), false);
    else if (typeof v === 'string' && DECIMAL.test(v)) this.setBigInt(BigInt(v));
    else if (typeof v === 'bigint') this.setBigInt(v);
    else throw new EncodeFallback(`int64 value ${String(v)}`);
  }

  /** Two's complement of v modulo 2^64. */
  setBigInt(v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.lo = Number(u & LOW_32);
    this.hi = Number(u >> 32n);
  }

  #setNumber(v: number, unsigned: boolean): void {
    if (!Number.isSafeInteger(v)) { this.setBigInt(numberToBigInt(v, unsigned)); return; }
    if (v < 0 && unsigned) { this.lo = 0; this.hi = 0; return; }
    const abs = v < 0 ? -v : v;
    let lo = abs >>> 0;
    let hi = ((abs - lo) / TWO_32) >>> 0;
    if (v < 0) {
      hi = ~hi >>> 0;
      lo = ~lo >>> 0;
      if (++lo > 0xffffffff) { lo = 0; hi = (hi + 1) >>> 0; }
    }
    this.lo = lo;
    this.hi = hi;
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  uint32(v: number): void {
    const { buf } = this;
    let pos = this.pos;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** The varint of lo/hi (after setInt64). */
  varint64(): void {
    let { lo, hi } = this;
    const { buf } = this;
    while (hi !== 0) {
      buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.uint32(lo);
  }

  /** A string of the UTF-8 length the size pass recorded (length prefix included). */
  string(s: string): void {
    const len = this.take();
    this.uint32(len);
    if (len === s.length && len < 64) {
      const { buf } = this;
      for (let i = 0; i < len; i++) buf[this.pos + i] = s.charCodeAt(i);
    } else {
      this.buf.write(s, this.pos, len, 'utf8');
    }
    this.pos += len;
  }

  /** Bytes with their length prefix. */
  bytes(b: Uint8Array): void {
    this.uint32(b.byteLength);
    this.raw(b);
  }

  /** Bytes as they are, no prefix. */
  raw(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  float(v: number): void {
    this.pos = this.buf.writeFloatLE(v, this.pos);
  }

  double(v: number): void {
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }
}
