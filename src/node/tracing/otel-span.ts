// TraceSpan (src/trace.ts) over an OpenTelemetry span. Parents are passed explicitly as
// contexts (no global context manager, no AsyncLocalStorage): a handle knows its tracer and
// makes its children itself. Times are performance.now() ms, turned into epoch HrTime here.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Context, HrTime, Span, Tracer } from '@opentelemetry/api';
import type { TraceAttributes, TraceSpan } from '../../trace.ts';
import { formatTraceparent } from './traceparent.ts';

const NS_PER_S = 1e9;
const originS = Math.floor(performance.timeOrigin / 1000);
const originNs = Math.round((performance.timeOrigin - originS * 1000) * 1e6);

/** A performance.now() time as epoch [seconds, nanoseconds], without losing sub-ms precision. */
export function hrTimeOf(perfMs: number): HrTime {
  const ns = originNs + Math.round(perfMs * 1e6);
  const s = Math.floor(ns / NS_PER_S);
  return [originS + s, ns - s * NS_PER_S];
}

const KINDS = { client: SpanKind.CLIENT, internal: SpanKind.INTERNAL, server: SpanKind.SERVER } as const;

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class OtelSpan implements TraceSpan {
  private readonly tracer: Tracer;
  readonly span: Span;

  constructor(tracer: Tracer, span: Span) {
    this.tracer = tracer;
    this.span = span;
  }

  /** Starts a span under `parent` (a remote parent's context, or ROOT_CONTEXT for a new trace). */
  static start(tracer: Tracer, name: string, parent: Context, kind: keyof typeof KINDS, startMs: number, attributes?: TraceAttributes): OtelSpan {
    const span = tracer.startSpan(name, { kind: KINDS[kind], startTime: hrTimeOf(startMs), ...(attributes === undefined ? {} : { attributes: attributes }) }, parent);
    return new OtelSpan(tracer, span);
  }

  private context(): Context {
    return trace.setSpan(ROOT_CONTEXT, this.span);
  }

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  phase(name: string, startMs: number, endMs: number, attributes?: TraceAttributes): TraceSpan {
    const s = OtelSpan.start(this.tracer, name, this.context(), 'internal', startMs, attributes);
    s.span.end(hrTimeOf(Math.max(startMs, endMs)));
    return s;
  }

  child(name: string, attributes?: TraceAttributes, kind: 'client' | 'internal' = 'internal'): TraceSpan {
    return OtelSpan.start(this.tracer, name, this.context(), kind, performance.now(), attributes);
  }

  event(name: string, attributes?: TraceAttributes): void {
    this.span.addEvent(name, attributes, hrTimeOf(performance.now()));
  }

  set(attributes: TraceAttributes): void {
    this.span.setAttributes(attributes);
  }

  traceparent(): string {
    const c = this.span.spanContext();
    return formatTraceparent({ traceId: c.traceId, spanId: c.spanId, flags: c.traceFlags });
  }

  end(error?: unknown): void {
    this.endAt(performance.now(), error);
  }

  endAt(perfMs: number, error?: unknown): void {
    if (error !== undefined) {
      const message = errorMessage(error);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: message.slice(0, 512) });
      const kind = (error as { kind?: unknown }).kind;
      if (typeof kind === 'string') this.span.setAttribute('plexus.error_kind', kind);
    }
    this.span.end(hrTimeOf(perfMs));
  }
}
