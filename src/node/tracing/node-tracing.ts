// Tracing of one node: its own OpenTelemetry TracerProvider (never the global one: several
// nodes may share a process), exporting over OTLP/HTTP (JSON) with a batch processor. Built only
// when an OTLP endpoint is configured; without it the node has no NodeTracing at all and the
// query path holds no span handles. Spans made here: the entry node's query span (with its
// decode and encode phases) and each forwarded query's hop span (decode, encode); the
// dispatcher and the inference engine add their children through the TraceSpan handle.
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { InferRequest, InferResult } from '../../inference/types.ts';
import type { Logger } from '../../logger.ts';
import type { ForwardRequest } from '../p2p/forward-frame.ts';
import type { ForwardHandler } from '../p2p/forward-protocol.ts';
import { OtelSpan } from './otel-span.ts';
import { parseTraceparent } from './traceparent.ts';
import { PARAM } from '../../wire/params.ts';

/** Response parameter carrying the query's trace id (gRPC and REST). */
export const TRACE_ID_PARAM = PARAM.traceId;
/** How often the batch processor exports (spans are also flushed on stop). */
export const DEFAULT_EXPORT_DELAY_MS = 1000;
/** One export's bound, so a stop never waits long on an unreachable collector. */
const EXPORT_TIMEOUT_MS = 5000;

export interface NodeTracingInit {
  /** OTLP/HTTP traces URL (…/v1/traces). */
  readonly tracesUrl: string;
  /** service.instance.id (the peer id), read when the first span is made, by which time it is known. */
  readonly instanceId: () => string;
  readonly version: string;
  readonly logger: Logger;
  readonly exportDelayMs?: number;
}

/** The entry node's span of one query, around decode, dispatch and encode. */
export interface EntrySpan {
  /** Decoding is done: records it and returns the request carrying this span to the dispatcher. */
  decoded(request: InferRequest): InferRequest;
  /** Adds plexus.trace_id to the result, runs `encode` as the encode phase, ends the span. */
  finish<T>(result: InferResult, encode: (result: InferResult) => T): T;
  fail(error: unknown): void;
}

/** What the client-facing transports (gRPC, REST) see of tracing. */
export interface QueryTracer {
  /** A new query from a client; an invalid or absent traceparent starts a new trace. */
  startQuery(api: 'grpc' | 'http', traceparent: string | undefined): EntrySpan;
}

export interface NodeTracing extends QueryTracer {
  /** Wraps the forward protocol's handler: one server span per forwarded query, child of its frame's traceparent. */
  forwardHandler(inner: ForwardHandler): ForwardHandler;
  /** The forward protocol's reply hook: the encode phase, then the end of that query's hop span. */
  replied(req: ForwardRequest, encodeStartedAt: number | undefined, error?: unknown): void;
  /** Export what is buffered and stop. */
  shutdown(): Promise<void>;
}

/** The caller's span as a parent context; ROOT_CONTEXT (a new trace) when absent or invalid. */
function parentOf(traceparent: string | undefined): Context {
  const p = parseTraceparent(traceparent);
  if (p === undefined) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: p.traceId, spanId: p.spanId, traceFlags: p.flags & 1, isRemote: true });
}

export function createNodeTracing(init: NodeTracingInit): NodeTracing {
  let provider: TracerProvider | undefined;
  let tracer: Tracer | undefined;
  let closed = false;
  const open = new WeakMap<ForwardRequest, OtelSpan>();

  const getTracer = (): Tracer => {
    if (tracer !== undefined) return tracer;
    // A query racing the node's stop: its spans go nowhere rather than to a new exporter.
    provider = closed ? new TracerProvider() : new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'plexus', 'service.version': init.version, 'service.instance.id': init.instanceId() }),
      spanProcessors: [new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: init.tracesUrl, timeoutMillis: EXPORT_TIMEOUT_MS }),
        scheduledDelayMillis: init.exportDelayMs ?? DEFAULT_EXPORT_DELAY_MS,
        exportTimeoutMillis: EXPORT_TIMEOUT_MS,
      })],
    });
    tracer = provider.getTracer('plexus', init.version);
    return tracer;
  };

  return {
    startQuery(api, traceparent) {
      const t0 = performance.now();
      const span = OtelSpan.start(getTracer(), 'plexus.query', parentOf(traceparent), 'server', t0, { 'plexus.api': api });
      return {
        decoded(request) {
          span.phase('plexus.decode', t0, performance.now());
          span.set({ 'plexus.model': request.model, 'plexus.query_id': request.id });
          return { ...request, trace: span };
        },
        finish(result, encode) {
          const e0 = performance.now();
          try {
            const out = encode({ ...result, parameters: { ...result.parameters, [TRACE_ID_PARAM]: span.traceId } });
            span.phase('plexus.encode', e0, performance.now());
            span.end();
            return out;
          } catch (e) {
            span.end(e);
            throw e;
          }
        },
        fail: (error) => { span.end(error); },
      };
    },
    forwardHandler(inner) {
      return (req, signal, receivedAt) => {
        const t0 = receivedAt ?? performance.now();
        const self = init.instanceId();
        const span = OtelSpan.start(getTracer(), 'plexus.hop', parentOf(req.traceparent), 'server', t0, {
          'plexus.query_id': req.queryId, 'plexus.model': req.model, 'plexus.origin': req.origin,
          'plexus.from': req.route[req.route.length - 1] ?? '', 'plexus.role': req.origin === self ? 'provider' : 'relay', 'plexus.ttl': req.ttl,
        });
        span.phase('plexus.decode', t0, performance.now());
        open.set(req, span);
        return inner({ ...req, trace: span }, signal, receivedAt);
      };
    },
    replied(req, encodeStartedAt, error) {
      const span = open.get(req);
      if (span === undefined) return;
      open.delete(req);
      if (encodeStartedAt !== undefined) span.phase('plexus.encode', encodeStartedAt, performance.now());
      span.end(error);
    },
    async shutdown() {
      if (closed) return;
      closed = true;
      if (provider === undefined) return;
      try {
        await provider.shutdown();
      } catch (e) {
        init.logger.warn({ err: e }, 'tracing: exporting the last spans failed');
      }
    },
  };
}

/** The OTLP/HTTP traces URL of an endpoint: a base URL gets /v1/traces, one ending in /v1/traces is kept. */
export function tracesUrlOf(endpoint: string): string {
  const u = new URL(endpoint);
  if (u.pathname.endsWith('/v1/traces')) return u.toString();
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/v1/traces`;
  return u.toString();
}
