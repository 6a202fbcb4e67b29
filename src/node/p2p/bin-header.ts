// The primitives of /plexus/forward/2.0.0's binary headers: unsigned LEB128 varints for lengths
// and counts, big-endian float64 for numbers, strings as a varint byte length then UTF-8.
// The reader is bounded: every read past the end, every varint over 32 bits and every string
// that is not UTF-8 or is longer than its field allows is a ProtocolError (forward-frame.ts bad).
// Short ASCII strings (peer ids, query ids, names: nearly all of them) are written byte by byte;
// they are read with the platform's UTF-8 decoder, which checks them faster than a loop here.
import { alignUp, bad } from './forward-frame.ts';

const UTF8 = new TextEncoder();
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });
/** A header's padding aligns what follows it to this many bytes (forward-codec.ts aligns tensors to it too). */
export const ALIGN = 8;
/** Strings up to this many characters are written byte by byte when they are ASCII. */
const SHORT = 128;

/** Builds one header in a buffer of its own that grows as needed. */
export class HeaderWriter {
  #buf: Uint8Array;
  #view: DataView;
  #off: number;

  /** `reserve` bytes are left at the start for the caller (the frame's head). */
  constructor(reserve = 0, capacity = 512) {
    this.#buf = new Uint8Array(Math.max(capacity, reserve + 64));
    this.#view = new DataView(this.#buf.buffer);
    this.#off = reserve;
  }

  #room(n: number): void {
    if (this.#off + n <= this.#buf.byteLength) return;
    const next = new Uint8Array(Math.max(this.#buf.byteLength * 2, this.#off + n));
    next.set(this.#buf.subarray(0, this.#off));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.#room(1);
    this.#buf[this.#off++] = v;
    return this;
  }

  /** An unsigned integer below 2^32. */
  varint(v: number): this {
    this.#room(5);
    let x = v >>> 0;
    while (x >= 0x80) {
      this.#buf[this.#off++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.#buf[this.#off++] = x;
    return this;
  }

  f64(v: number): this {
    this.#room(8);
    this.#view.setFloat64(this.#off, v, false);
    this.#off += 8;
    return this;
  }

  str(s: string): this {
    const n = s.length;
    if (n <= SHORT) {
      let ascii = true;
      for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) { ascii = false; break; }
      if (ascii) {
        this.varint(n);
        this.#room(n);
        for (let i = 0; i < n; i++) this.#buf[this.#off++] = s.charCodeAt(i);
        return this;
      }
    }
    const bytes = UTF8.encode(s);
    this.varint(bytes.byteLength);
    this.#room(bytes.byteLength);
    this.#buf.set(bytes, this.#off);
    this.#off += bytes.byteLength;
    return this;
  }

  /**
   * What was written, then zero bytes up to the next length that is a multiple of 8 once `shift`
   * is added (the offset, mod 8, at which its reader will find the buffer's first byte), so that
   * bytes sent after it are 8-aligned there. A view of the writer's buffer, which starts at its
   * ArrayBuffer's byte 0; the writer is done with it.
   */
  finish(shift = 0): Uint8Array {
    const end = alignUp(this.#off + shift, ALIGN) - shift;
    this.#room(end - this.#off);
    return this.#buf.subarray(0, end); // zero past #off: a buffer is zero-filled, and writes go only to #off
  }
}

/** Reads one header front to back; `end` checks that nothing is left over. */
export class HeaderReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #off = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  #need(n: number, what: string): void {
    if (this.#off + n > this.#buf.byteLength) bad(`header ends inside ${what}`);
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.#buf[this.#off++] ?? 0;
  }

  varint(what: string): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.u8(what);
      if (shift === 28 && b > 0x0f) bad(`${what} is over 32 bits`);
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    return bad(`${what} is over 32 bits`);
  }

  /** A count of at most `max` items. */
  count(max: number, what: string): number {
    const n = this.varint(what);
    if (n > max) bad(`${what}: ${n} is more than ${max}`);
    return n;
  }

  f64(what: string): number {
    this.#need(8, what);
    const v = this.#view.getFloat64(this.#off, false);
    this.#off += 8;
    return v;
  }

  /** A finite float64. */
  finite(what: string): number {
    const v = this.f64(what);
    if (!Number.isFinite(v)) bad(`${what} must be a finite number`);
    return v;
  }

  /** A string of at most `maxChars` UTF-16 units. */
  str(maxChars: number, what: string): string {
    const n = this.varint(what);
    if (n > maxChars * 3) bad(`${what} is longer than ${maxChars} characters`);
    this.#need(n, what);
    const start = this.#off;
    this.#off += n;
    let s: string;
    try {
      s = UTF8_STRICT.decode(this.#buf.subarray(start, start + n));
    } catch {
      return bad(`${what} is not UTF-8`);
    }
    if (s.length > maxChars) bad(`${what} is longer than ${maxChars} characters`);
    return s;
  }

  /** After the last field: at most the writer's padding, zero bytes. */
  end(): void {
    const left = this.#buf.byteLength - this.#off;
    if (left >= ALIGN || this.#buf.subarray(this.#off).some((b) => b !== 0)) bad(`${left} bytes after the header's last field`);
  }
}
