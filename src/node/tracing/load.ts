// The OpenTelemetry SDK is loaded only by a node that traces: a node without --otlp-endpoint
// never maps it (start-up time and resident memory stay as they were).
import type { TracingOptions } from '../options.ts';
import type { NodeTracing, NodeTracingInit } from './node-tracing.ts';

export async function loadNodeTracing(options: TracingOptions, init: Omit<NodeTracingInit, 'tracesUrl'>): Promise<NodeTracing> {
  const { createNodeTracing, tracesUrlOf } = await import('./node-tracing.ts');
  return createNodeTracing({ ...init, tracesUrl: tracesUrlOf(options.otlpEndpoint) });
}
