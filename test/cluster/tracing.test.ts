// Tracing across hops: three real daemons in a line A–B–C (model only on C), each exporting
// OTLP/HTTP to an in-test collector. One query at A must come back as ONE trace whose spans
// chain A → B → C with correct parent ids, every child inside its parent's time; a caller's
// traceparent is honoured (gRPC metadata and REST header), an invalid one starts a new trace.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav, vadRequest } from '../node/grpc/helpers.ts';
import {
  originsFor, paramString, rawVadModel, rawVadRequest, removeTempDirs, startClusterNode, waitFor, type ClusterNode, type InferResponse,
} from './helpers.ts';
import { startOtlpCollector, type CollectedSpan, type OtlpCollector } from './otlp-collector.ts';
import { PlexusClient, type InferResult } from '../../src/client/index.ts';
import { formatTrace } from '../../src/cli/format.ts';
import { rawVadInputs } from '../client/helpers.ts';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const REST_TRACE = '0af7651916cd43dd8448eb211c80319c';
const UNSAMPLED_TRACE = '5bf92f3577b34da6a3ce929d0e0e4737';

let collector: OtlpCollector;
let a: ClusterNode, b: ClusterNode, c: ClusterNode;
const answers: Record<string, string | undefined> = {};
/** The same kind of query through plexus/client (its own trace). */
let viaClient: InferResult;

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: InferResponse) => void) => void;

function inferWith(n: ClusterNode, model: string, traceparent?: string): Promise<InferResponse> {
  const md = new grpc.Metadata();
  if (traceparent !== undefined) md.set('traceparent', traceparent);
  const request = model === 'speech.vad' ? vadRequest(toneWav(1)) : rawVadRequest(model);
  const client = n.inference as unknown as { ModelInfer: Unary };
  return new Promise((resolve, reject) => {
    client.ModelInfer(request, md, { deadline: Date.now() + 10_000 }, (e, r) => { if (e) reject(e); else resolve(r); });
  });
}

beforeAll(async () => {
  collector = await startOtlpCollector();
  const otlpEndpoint = collector.url;
  c = await startClusterNode({
    static: true, otlpEndpoint,
    models: [rawVadModel(), {
      name: 'silero-vad-segments', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'],
      batching: { maxBatchSize: 8, maxQueueDelayUs: 0 },
    }],
  });
  b = await startClusterNode({ static: true, noModels: true, otlpEndpoint, bootstrap: [c.addrs[0] ?? ''] });
  a = await startClusterNode({ static: true, noModels: true, otlpEndpoint, http: true, bootstrap: [b.addrs[0] ?? ''] });
  await waitFor('A learns the routes to C', () => originsFor(a, 'speech.vad').has(c.peerId) && originsFor(a, 'speech.vad.raw').has(c.peerId), 10_000);

  answers.fresh = paramString((await inferWith(a, 'speech.vad.raw')).parameters, 'plexus.trace_id');
  answers.caller = paramString((await inferWith(a, 'speech.vad.raw', `00-${CALLER_TRACE}-${CALLER_SPAN}-01`)).parameters, 'plexus.trace_id');
  answers.invalid = paramString((await inferWith(a, 'speech.vad.raw', `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`)).parameters, 'plexus.trace_id');
  answers.unsampled = paramString((await inferWith(a, 'speech.vad.raw', `00-${UNSAMPLED_TRACE}-${CALLER_SPAN}-00`)).parameters, 'plexus.trace_id');
  answers.vad = paramString((await inferWith(a, 'speech.vad')).parameters, 'plexus.trace_id');
  const rest = await fetch(`http://${a.node.httpAddress() ?? ''}/v2/models/speech.vad.raw/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${REST_TRACE}-${CALLER_SPAN}-01` },
    body: JSON.stringify({ inputs: [
      { name: 'input', datatype: 'FP32', shape: [1, 576], data: new Array<number>(576).fill(0.1) },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array<number>(256).fill(0) },
      { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
    ] }),
  });
  answers.rest = ((await rest.json()) as { parameters?: Record<string, string> }).parameters?.['plexus.trace_id'];
  const client = new PlexusClient(a.grpc, { timeoutMs: 10_000 });
  try {
    viaClient = await client.infer({ model: 'speech.vad.raw', inputs: rawVadInputs() });
  } finally {
    client.close();
  }
  // Stopping a node flushes its spans to the collector.
  await Promise.all([a, b, c].map((n) => n.close()));
}, 60_000);

afterAll(async () => {
  await Promise.all([a, b, c].filter((n) => n !== undefined).map((n) => n.close()));
  await collector.close();
  removeTempDirs();
});

const inTrace = (traceId: string | undefined): CollectedSpan[] => collector.spans.filter((s) => s.traceId === traceId);
const only = (spans: CollectedSpan[], node: ClusterNode, name: string): CollectedSpan[] => spans.filter((s) => s.node === node.peerId && s.name === name);
function one(spans: CollectedSpan[], node: ClusterNode, name: string): CollectedSpan {
  const found = only(spans, node, name);
  expect(found, `${name} at ${node.peerId}`).toHaveLength(1);
  return found[0] as CollectedSpan;
}

/** Every span but the root (whose parent is `rootParent`) has its parent in the trace and lies within the parent's time. */
function expectWellFormed(spans: CollectedSpan[], rootParent = ''): void {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (const s of spans) {
    expect(s.end >= s.start, `${s.name} ends after it starts`).toBe(true);
    if (s.parentSpanId === rootParent) continue;
    const p = byId.get(s.parentSpanId);
    expect(p, `parent of ${s.name}`).toBeDefined();
    if (p === undefined) continue;
    expect(s.start >= p.start && s.end <= p.end, `${s.name} [${s.start}, ${s.end}] within ${p.name} [${p.start}, ${p.end}]`).toBe(true);
  }
}

describe('tracing across A → B → C', () => {
  it('the collector got OTLP JSON only, and every answer carries a trace id', () => {
    expect(collector.rejected).toEqual([]);
    for (const id of Object.values(answers)) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(Object.values(answers)).size).toBe(6);
  });

  it('plexus/client and plexus query show the trace id; A recorded spans under it', () => {
    expect(viaClient.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(viaClient.traceId).toBe(viaClient.parameters['plexus.trace_id']);
    expect(Object.values(answers)).not.toContain(viaClient.traceId);
    expect(inTrace(viaClient.traceId).some((s) => s.node === a.peerId)).toBe(true);
    expect(formatTrace(viaClient.parameters)).toBe(`trace ${viaClient.traceId ?? ''}\n`);
    expect(formatTrace({})).toBe('');
  });

  it('one query yields ONE trace whose spans chain A, B, C with the right parents', () => {
    const spans = inTrace(answers.fresh);
    expect(new Set(spans.map((s) => s.node))).toEqual(new Set([a.peerId, b.peerId, c.peerId]));
    const roots = spans.filter((s) => s.parentSpanId === '');
    expect(roots.map((s) => [s.node, s.name])).toEqual([[a.peerId, 'plexus.query']]);
    const query = roots[0] as CollectedSpan;
    expect(query.kind).toBe(2);
    const fwdA = one(spans, a, 'plexus.forward');
    expect(fwdA).toMatchObject({ parentSpanId: query.spanId, kind: 3 });
    expect(fwdA.attributes).toMatchObject({ 'plexus.origin': c.peerId, 'plexus.next_hop': b.peerId, 'plexus.attempt': 1 });
    const hopB = one(spans, b, 'plexus.hop');
    expect(hopB).toMatchObject({ parentSpanId: fwdA.spanId, kind: 2 });
    expect(hopB.attributes['plexus.role']).toBe('relay');
    const fwdB = one(spans, b, 'plexus.forward');
    expect(fwdB.parentSpanId).toBe(hopB.spanId);
    const hopC = one(spans, c, 'plexus.hop');
    expect(hopC).toMatchObject({ parentSpanId: fwdB.spanId, kind: 2 });
    expect(hopC.attributes['plexus.role']).toBe('provider');
    const inferC = one(spans, c, 'plexus.infer');
    expect(inferC.parentSpanId).toBe(hopC.spanId);
    for (const phase of ['plexus.queue_wait', 'plexus.compute']) expect(one(spans, c, phase).parentSpanId).toBe(inferC.spanId);
    // Each node's own phases, under its own server span.
    for (const [node, server, names] of [
      [a, query, ['plexus.decode', 'plexus.route', 'plexus.encode']],
      [b, hopB, ['plexus.decode', 'plexus.route', 'plexus.encode']],
      [c, hopC, ['plexus.decode', 'plexus.encode']],
    ] as const) {
      for (const name of names) expect(one(spans, node, name).parentSpanId).toBe(server.spanId);
    }
    expectWellFormed(spans);
    // Durations add up: each span's children follow one another, and together take no longer than it.
    for (const parent of spans) {
      const kids = spans.filter((s) => s.parentSpanId === parent.spanId).sort((x, y) => (x.start < y.start ? -1 : 1));
      kids.slice(1).forEach((s, k) => expect(s.start >= (kids[k] as CollectedSpan).end, `${s.name} after ${kids[k]?.name}`).toBe(true));
      expect(kids.reduce((t, s) => t + s.end - s.start, 0n) <= parent.end - parent.start, `children of ${parent.name}`).toBe(true);
    }
  });

  it('route selection names the chosen route and every candidate\'s expected ms', () => {
    const route = one(inTrace(answers.fresh), a, 'plexus.route');
    expect(route.attributes['plexus.route.chosen']).toContain(c.peerId);
    expect(route.attributes['plexus.route.candidate_count']).toBe(1);
    const expected = route.attributes['plexus.route.candidates_expected_ms'] as number[];
    expect(expected).toHaveLength(1);
    expect(expected[0]).toBeGreaterThan(0);
    expect(route.attributes['plexus.route.chosen_expected_ms']).toBe(expected[0]);
  });

  it('a batched adapter query has a batch span with its batch size, compute inside it', () => {
    const spans = inTrace(answers.vad);
    expectWellFormed(spans);
    const batch = one(spans, c, 'plexus.batch');
    expect(batch.attributes['plexus.batch_size']).toBe(1);
    expect(batch.attributes['plexus.steps']).toBeGreaterThan(10);
    expect(one(spans, c, 'plexus.compute').parentSpanId).toBe(batch.spanId);
    expect(one(spans, c, 'plexus.queue_wait').parentSpanId).toBe(one(spans, c, 'plexus.infer').spanId);
  });

  it('a caller\'s traceparent is honoured: same trace id in plexus.trace_id and every span, its span the parent', () => {
    expect(answers.caller).toBe(CALLER_TRACE);
    const spans = inTrace(CALLER_TRACE);
    expect(new Set(spans.map((s) => s.node))).toEqual(new Set([a.peerId, b.peerId, c.peerId]));
    expect(one(spans, a, 'plexus.query').parentSpanId).toBe(CALLER_SPAN);
    expect(spans.filter((s) => s.parentSpanId === CALLER_SPAN)).toHaveLength(1);
    expectWellFormed(spans, CALLER_SPAN);
  });

  it('a caller\'s traceparent with the sampled flag off is honoured: its trace id comes back, no node records a span', () => {
    expect(answers.unsampled).toBe(UNSAMPLED_TRACE);
    expect(inTrace(UNSAMPLED_TRACE)).toEqual([]);
  });

  it('REST honours the traceparent header too', () => {
    expect(answers.rest).toBe(REST_TRACE);
    const query = one(inTrace(REST_TRACE), a, 'plexus.query');
    expect(query.attributes['plexus.api']).toBe('http');
    expect(query.parentSpanId).toBe(CALLER_SPAN);
  });

  it('an invalid traceparent (all-zero trace id) is ignored: a new trace, rooted at A', () => {
    expect(answers.invalid).not.toBe('0'.repeat(32));
    const spans = inTrace(answers.invalid);
    expect(one(spans, a, 'plexus.query').parentSpanId).toBe('');
    expect(new Set(spans.map((s) => s.node)).size).toBe(3);
  });
});
