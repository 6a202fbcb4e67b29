// The inference engine's spans for a dynamically batched raw model, on a real ORT session of
// the bench's MLP and the real OpenTelemetry SDK (an in-memory exporter): concurrent requests
// that ride one batch each get a queue-wait span, a batch span with the batch's size in rows
// and a compute span inside the batch, all within the request's span.
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MLP, seededRandom, writeMlpModel } from '../../../bench/models/mlp.ts';
import { compileModelSpecs, createLocalInference } from '../../../src/inference/index.ts';
import type { LocalInference, Tensor } from '../../../src/inference/index.ts';
import { silentLogger } from '../../../src/logger.ts';
import { OtelSpan } from '../../../src/node/tracing/otel-span.ts';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('test');
let inf: LocalInference;

beforeAll(async () => {
  const session = { intraOpThreads: 1, interOpThreads: 1 };
  inf = await createLocalInference({
    logger: silentLogger(),
    models: compileModelSpecs({
      models: [
        { name: 'mlp', path: writeMlpModel(), session },
        { name: 'mlp-batched', path: writeMlpModel(), session, batching: { maxBatchSize: 16, maxQueueDelayUs: 50_000 } },
      ],
    }, process.cwd()),
  });
});

afterAll(async () => {
  await inf.close();
  await provider.shutdown();
});

function mlpInput(rows: number, seed: number): Tensor {
  const rand = seededRandom(seed);
  return { name: 'x', datatype: 'FP32', shape: [rows, DEFAULT_MLP.inputs], data: Float32Array.from({ length: rows * DEFAULT_MLP.inputs }, () => rand() * 2 - 1) };
}

const ns = (t: readonly [number, number]): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
const children = (of: ReadableSpan): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.parentSpanContext?.spanId === of.spanContext().spanId);
function within(child: ReadableSpan, parent: ReadableSpan): boolean {
  return ns(child.startTime) >= ns(parent.startTime) && ns(child.endTime) <= ns(parent.endTime);
}

describe('spans of batched runs', () => {
  it('three concurrent requests (1, 2 and 3 rows) share one batch of 6 rows; each has queue wait, batch and compute', async () => {
    const roots = [1, 2, 3].map((k) => OtelSpan.start(tracer, `request ${k}`, ROOT_CONTEXT, 'server', performance.now()));
    await Promise.all(roots.map((root, k) => inf.infer({ model: 'mlp-batched', id: `r${k}`, inputs: [mlpInput(k + 1, k)], outputs: [], parameters: {}, trace: root })));
    for (const r of roots) r.end();
    for (const root of roots) {
      const rootSpan = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === root.span.spanContext().spanId) as ReadableSpan;
      const kids = children(rootSpan);
      expect(kids.map((s) => s.name).sort()).toEqual(['plexus.batch', 'plexus.queue_wait']);
      const batch = kids.find((s) => s.name === 'plexus.batch') as ReadableSpan;
      expect(batch.attributes).toMatchObject({ 'plexus.model': 'mlp-batched', 'plexus.batch_size': 6, 'plexus.batch_requests': 3 });
      const [compute] = children(batch);
      expect(compute?.name).toBe('plexus.compute');
      expect(within(compute as ReadableSpan, batch)).toBe(true);
      for (const k of kids) expect(within(k, rootSpan)).toBe(true);
      // The wait ends where the batch begins.
      const wait = kids.find((s) => s.name === 'plexus.queue_wait') as ReadableSpan;
      expect(ns(wait.endTime)).toBe(ns(batch.startTime));
    }
  });

  it('an unbatched model reports queue wait and compute, and nothing without a span', async () => {
    exporter.reset();
    await inf.infer({ model: 'mlp', id: 'plain', inputs: [mlpInput(1, 9)], outputs: [], parameters: {} });
    expect(exporter.getFinishedSpans()).toEqual([]);
    const root = OtelSpan.start(tracer, 'request', ROOT_CONTEXT, 'server', performance.now());
    await inf.infer({ model: 'mlp', id: 'traced', inputs: [mlpInput(1, 9)], outputs: [], parameters: {}, trace: root });
    root.end();
    expect(exporter.getFinishedSpans().map((s) => s.name).sort()).toEqual(['plexus.compute', 'plexus.queue_wait', 'request']);
  });
});
