// Failovers and hedges in a trace: an entry node (tracing on) with three providers. With
// prefer=cost the free one fails every run (injected fault), so the query fails over to the
// next: an event on the query span and one forward span per try, the first in error. Then a
// hedge (plexus.hedge_ms) on a capability only the slow cheap and the fast provider serve fires
// and the fast one answers: a hedge event, and the hedged try's span says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  infer, originsFor, paramString, rawVadModel, removeTempDirs, startClusterNode, waitFor, type ClusterNode,
} from './helpers.ts';
import { startOtlpCollector, type CollectedSpan, type OtlpCollector } from './otlp-collector.ts';

const HEDGED = 'speech.vad.hedged';
let collector: OtlpCollector;
let entry: ClusterNode, flaky: ClusterNode, cheap: ClusterNode, fast: ClusterNode;
let failoverTrace: string | undefined;
let hedgeTrace: string | undefined;
let served: (string | undefined)[] = [];

beforeAll(async () => {
  collector = await startOtlpCollector();
  const otlpEndpoint = collector.url;
  entry = await startClusterNode({ noModels: true, otlpEndpoint });
  const bootstrap = [entry.addrs[0] ?? ''];
  flaky = await startClusterNode({ models: [rawVadModel({ price: 0, errorRate: 1 })], bootstrap, otlpEndpoint });
  const capabilities = ['speech.vad.raw', HEDGED];
  cheap = await startClusterNode({ models: [{ ...rawVadModel({ price: 1, delayMs: 1000 }), capabilities }], bootstrap, otlpEndpoint });
  fast = await startClusterNode({ models: [{ ...rawVadModel({ price: 10 }), capabilities }], bootstrap, otlpEndpoint });
  await waitFor('the entry knows all three providers', () => {
    const o = originsFor(entry, 'speech.vad.raw');
    const h = originsFor(entry, HEDGED);
    return o.has(flaky.peerId) && o.has(cheap.peerId) && o.has(fast.peerId) && h.has(cheap.peerId) && h.has(fast.peerId);
  }, 10_000);
  const first = await infer(entry, { 'plexus.prefer': 'cost' });
  failoverTrace = paramString(first.parameters, 'plexus.trace_id');
  // Not served by the flaky provider: the cheap, slow one comes first, the fast one is the hedge.
  const second = await infer(entry, { 'plexus.prefer': 'cost', 'plexus.hedge_ms': 50 }, 10_000, HEDGED);
  hedgeTrace = paramString(second.parameters, 'plexus.trace_id');
  served = [paramString(first.parameters, 'plexus.served_by'), paramString(second.parameters, 'plexus.served_by')];
  await Promise.all([entry, flaky, cheap, fast].map((n) => n.close()));
}, 60_000);

afterAll(async () => {
  await Promise.all([entry, flaky, cheap, fast].filter((n) => n !== undefined).map((n) => n.close()));
  await collector.close();
  removeTempDirs();
});

const atEntry = (traceId: string | undefined, name: string): CollectedSpan[] =>
  collector.spans.filter((s) => s.traceId === traceId && s.node === entry.peerId && s.name === name);

describe('failovers and hedges in the trace', () => {
  it('the queries were served as planned: failover to cheap, hedge won by fast', () => {
    expect(served).toEqual([cheap.peerId, fast.peerId]);
  });

  it('a failover is an event on the query span, each try its own forward span', () => {
    const [query] = atEntry(failoverTrace, 'plexus.query');
    expect(query?.events.map((e) => e.name)).toEqual(['plexus.failover']);
    const tries = atEntry(failoverTrace, 'plexus.forward').sort((x, y) => Number(x.attributes['plexus.attempt']) - Number(y.attributes['plexus.attempt']));
    expect(tries.map((t) => [t.attributes['plexus.origin'], t.attributes['plexus.attempt'], t.status])).toEqual([
      [flaky.peerId, 1, 2],
      [cheap.peerId, 2, 0],
    ]);
    expect(tries[0]?.attributes['plexus.error_kind']).toBe('unavailable');
  });

  it('a hedge is an event too; the hedged try is marked and the losing try ends cancelled', () => {
    const [query] = atEntry(hedgeTrace, 'plexus.query');
    expect(query?.events.map((e) => e.name)).toEqual(['plexus.hedge']);
    const tries = atEntry(hedgeTrace, 'plexus.forward');
    const hedged = tries.find((t) => t.attributes['plexus.hedge'] === true);
    const firstTry = tries.find((t) => t.attributes['plexus.hedge'] === undefined);
    expect(hedged?.attributes['plexus.origin']).toBe(fast.peerId);
    expect(hedged?.status).toBe(0);
    expect(firstTry?.attributes['plexus.origin']).toBe(cheap.peerId);
    expect(firstTry?.attributes['plexus.error_kind']).toBe('cancelled');
    // The winner's provider joined the same trace.
    expect(collector.spans.some((s) => s.traceId === hedgeTrace && s.node === fast.peerId && s.name === 'plexus.hop')).toBe(true);
  });
});
