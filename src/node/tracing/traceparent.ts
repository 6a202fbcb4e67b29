// W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header):
// version-traceid-parentid-flags, lowercase hex. Pure parsing and formatting; an invalid value
// is not an error, it is ignored (the receiver starts a new trace), as the spec asks.

export const TRACEPARENT = 'traceparent';

export interface ParentContext {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero. */
  readonly spanId: string;
  /** Bit 0: sampled. */
  readonly flags: number;
}

const V00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
// A later version may append fields after the flags, each starting with '-'.
const FUTURE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const MAX_LENGTH = 512;

/** The parent named by a traceparent value, or undefined when it is missing or invalid. */
export function parseTraceparent(value: unknown): ParentContext | undefined {
  if (typeof value !== 'string' || value.length > MAX_LENGTH) return undefined;
  const text = value.trim();
  let traceId: string;
  let spanId: string;
  let flags: string;
  const v0 = V00.exec(text);
  if (v0 !== null) {
    [, traceId = '', spanId = '', flags = ''] = v0;
  } else {
    const f = FUTURE.exec(text);
    // Version ff is forbidden; version 00 must be exactly 55 characters (matched above).
    if (f === null || f[1] === 'ff' || f[1] === '00') return undefined;
    [, , traceId = '', spanId = '', flags = ''] = f;
  }
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags: Number.parseInt(flags, 16) };
}

export function formatTraceparent(ctx: ParentContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${(ctx.flags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The first traceparent value of a header or metadata entry (string, Buffer or a list of them). */
export function firstHeaderValue(v: unknown): string | undefined {
  const first: unknown = Array.isArray(v) ? v[0] : v;
  if (typeof first === 'string') return first;
  if (first instanceof Uint8Array && first.byteLength <= MAX_LENGTH) return Buffer.from(first).toString('latin1');
  return undefined;
}
