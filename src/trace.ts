// The seam for distributed tracing: what the query path tells a tracer, shared by every layer
// (inference, routing dispatch, transports) and free of any tracing SDK. src/node/tracing/
// implements it with OpenTelemetry. Every call site holds an optional handle: with tracing off
// the handle is undefined, `handle?.phase(...)` evaluates nothing, and no span object exists.

export type TraceAttributeValue = string | number | boolean | readonly string[] | readonly number[];
export type TraceAttributes = Readonly<Record<string, TraceAttributeValue>>;

/** One span of a query on this node. Times are performance.now() milliseconds. */
export interface TraceSpan {
  /** A child phase that already happened, timed by the caller (decode, queue wait, batch, compute...); returns it, ended. */
  phase(name: string, startMs: number, endMs: number, attributes?: TraceAttributes): TraceSpan;
  /** A child span that starts now (`client` when it calls another node); end() it. */
  child(name: string, attributes?: TraceAttributes, kind?: 'client' | 'internal'): TraceSpan;
  event(name: string, attributes?: TraceAttributes): void;
  set(attributes: TraceAttributes): void;
  /** W3C traceparent naming this span, for the next hop. */
  traceparent(): string;
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** Ends the span now (status error with the message when `error` is given). */
  end(error?: unknown): void;
}
