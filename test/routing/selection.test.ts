import { describe, expect, it } from 'vitest';
import type { QueryConstraints, RouteCandidate, Selection } from '../../src/routing/types.ts';
import { advert, model, newTable, tableWithProviders, update } from './fixtures.ts';

function ok(s: Selection): readonly RouteCandidate[] {
  if (!s.ok) throw new Error(`selection failed: ${s.failure.reason}: ${s.failure.message}`);
  return s.candidates;
}

function firstOrigin(s: Selection): string {
  const c = ok(s)[0];
  if (c === undefined) throw new Error('no candidate');
  return c.origin;
}

const q = (over: Partial<QueryConstraints> = {}): QueryConstraints => ({ prefer: 'latency', ...over });

/** fast+expensive on CUDA, slow+cheap on CPU, and a middle one. */
function market() {
  return tableWithProviders({
    fast: [model('asr', { computeMs: 5, price: 10, provider: 'cuda', capabilities: ['speech'] })],
    slow: [model('asr', { computeMs: 50, price: 1, capabilities: ['speech'] })],
    mid: [model('asr', { computeMs: 15, price: 2, capabilities: ['speech'] })],
  });
}

describe('selection by constraints', () => {
  it('orders by the prefer policy: latency, cost, balanced', () => {
    const t = market();
    expect(ok(t.select('asr', q(), 0)).map((c) => c.origin)).toEqual(['fast', 'mid', 'slow']);
    expect(ok(t.select('asr', q({ prefer: 'cost' }), 0)).map((c) => c.origin)).toEqual(['slow', 'mid', 'fast']);
    // Geometric mean of expected ms and price: fast √(7·10.5), slow √(52·1.5), mid √(17·2.5): mid wins.
    expect(firstOrigin(t.select('asr', q({ prefer: 'balanced' }), 0))).toBe('mid');
  });

  it('balanced does not let one terrible candidate decide between the others', () => {
    const t = market();
    t.neighbourUp('awful', 2, 0);
    t.applyUpdate('awful', update(advert('awful', 1, [model('asr', { computeMs: 5000, price: 1 })]), 0, 0), 0);
    expect(firstOrigin(t.select('asr', q({ prefer: 'balanced' }), 0))).toBe('mid');
    // Twice as slow for a tenth of the price is worth it; ten times as slow for half is not.
    const u = tableWithProviders({ a: [model('m', { computeMs: 10, price: 10 })], b: [model('m', { computeMs: 22, price: 1 })] });
    expect(firstOrigin(u.select('m', q({ prefer: 'balanced' }), 0))).toBe('b');
    const v = tableWithProviders({ a: [model('m', { computeMs: 10, price: 2 })], b: [model('m', { computeMs: 118, price: 1 })] });
    expect(firstOrigin(v.select('m', q({ prefer: 'balanced' }), 0))).toBe('a');
  });

  it('matches a capability as well as a model name, and returns every candidate for failover', () => {
    const cands = ok(market().select('speech', q(), 0));
    expect(cands).toHaveLength(3);
    expect(new Set(cands.map((c) => c.origin))).toEqual(new Set(['fast', 'slow', 'mid']));
  });

  it('reports each metric part on the candidate', () => {
    const t = tableWithProviders({ p: [model('m', { computeMs: 7, price: 3, load: 2, capacity: 8 })] }, { linkMs: 4 });
    const c = ok(t.select('m', q(), 0))[0];
    expect(c).toMatchObject({ origin: 'p', nextHop: 'p', hops: 1, pathLatencyMs: 4, computeMs: 7, price: 3, provider: 'cpu' });
    expect(c?.queueWaitMs).toBe(14); // two calls ahead × 7 ms
    expect(c?.expectedMs).toBe(2 * 4 + 14 + 7);
  });

  it('max_cost filters, and says what the cheapest costs when nothing fits', () => {
    const t = market();
    expect(ok(t.select('asr', q({ maxCost: 2 }), 0)).map((c) => c.origin)).toEqual(['mid', 'slow']);
    const s = t.select('asr', q({ maxCost: 0.5 }), 0);
    expect(s.ok).toBe(false);
    if (s.ok) return;
    expect(s.failure.reason).toBe('constraints');
    expect(s.failure.message).toMatch(/3 over plexus\.max_cost 0\.5 \(cheapest costs 1\)/);
  });

  it('max_hops filters by the route hop count', () => {
    const t = newTable();
    t.neighbourUp('a', 2, 0);
    t.applyUpdate('a', update(advert('a', 1, [model('m', { computeMs: 50 })]), 0, 0), 0);
    t.applyUpdate('a', update(advert('far', 1, [model('m', { computeMs: 1 })]), 5, 2), 0); // 3 hops from us
    expect(firstOrigin(t.select('m', q(), 0))).toBe('far');
    expect(ok(t.select('m', q({ maxHops: 2 }), 0)).map((c) => c.origin)).toEqual(['a']);
    const s = t.select('m', q({ maxHops: 0 }), 0);
    expect(s.ok ? 'ok' : s.failure.message).toMatch(/2 beyond plexus\.max_hops 0 \(nearest is 1 hops\)/);
  });

  it('a local model is 0 hops away and routes to self', () => {
    const t = newTable('me');
    t.setLocalModels([model('m')], 0);
    const c = ok(t.select('m', q({ maxHops: 0 }), 0))[0];
    expect(c).toMatchObject({ origin: 'me', nextHop: 'me', hops: 0, pathLatencyMs: 0 });
  });

  it('peer pins one provider; an unknown pin is a constraints failure', () => {
    const t = market();
    expect(ok(t.select('asr', q({ peer: 'slow' }), 0)).map((c) => c.origin)).toEqual(['slow']);
    const s = t.select('asr', q({ peer: 'nobody' }), 0);
    expect(s.ok ? 'ok' : s.failure.reason).toBe('constraints');
    expect(s.ok ? '' : s.failure.message).toMatch(/3 not on the pinned plexus\.peer nobody/);
  });

  it('provider picks the execution provider', () => {
    const t = market();
    expect(ok(t.select('asr', q({ provider: 'cuda', prefer: 'cost' }), 0)).map((c) => c.origin)).toEqual(['fast']);
    expect(ok(t.select('asr', q({ provider: 'cpu' }), 0)).map((c) => c.origin)).toEqual(['mid', 'slow']);
    const only = tableWithProviders({ a: [model('m')] });
    const s = only.select('m', q({ provider: 'cuda' }), 0);
    expect(s.ok ? 'ok' : `${s.failure.reason}: ${s.failure.message}`).toMatch(/^constraints: .*1 not on plexus\.provider cuda/);
  });

  it('deadline drops routes expected to be too slow, and fails with reason deadline when none fit', () => {
    const t = market(); // expected: fast 2+5, mid 2+15, slow 2+50
    expect(ok(t.select('asr', q({ deadlineMs: 20 }), 0)).map((c) => c.origin)).toEqual(['fast', 'mid']);
    const s = t.select('asr', q({ deadlineMs: 3 }), 0);
    expect(s.ok).toBe(false);
    if (s.ok) return;
    expect(s.failure.reason).toBe('deadline');
    expect(s.failure.message).toMatch(/3 ms deadline \(fastest expected 7 ms\)/);
  });

  it('an unknown name is reason unknown, even with constraints that would exclude everything', () => {
    const s = market().select('tts', q({ maxCost: 0, deadlineMs: 1 }), 0);
    expect(s.ok ? 'ok' : s.failure.reason).toBe('unknown');
    expect(s.ok ? '' : s.failure.message).toMatch(/'tts'/);
  });
});

describe('load, errors and failures in the metric', () => {
  it('power of two choices spreads calls over near-equal replicas, and none to a clearly worse one', () => {
    const t = tableWithProviders({
      r1: [model('m', { computeMs: 20 })], r2: [model('m', { computeMs: 20 })], slow: [model('m', { computeMs: 80 })],
    });
    const count = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const c = ok(t.select('m', q(), i))[0] as RouteCandidate;
      count.set(c.origin, (count.get(c.origin) ?? 0) + 1);
      t.requestStarted(c);
      t.recordOutcome(c, { ok: true, latencyMs: 22 }, i); // done at once: no outstanding build-up
    }
    for (const r of ['r1', 'r2']) expect(count.get(r) ?? 0).toBeGreaterThan(1200);
    expect(count.get('slow') ?? 0).toBe(0);
  });

  it('with calls in flight, P2C keeps the replicas\' outstanding counts close', () => {
    // r4 is slightly slower: it gets calls only once the others have more in flight.
    const ids = ['r1', 'r2', 'r3', 'r4'];
    const t = tableWithProviders(Object.fromEntries(ids.map((id) => [id, [model('m', { computeMs: id === 'r4' ? 21 : 20, capacity: 1000 })]])));
    const outstanding = new Map<string, number>(ids.map((id) => [id, 0]));
    for (let i = 0; i < 200; i++) {
      const c = ok(t.select('m', q(), 0))[0] as RouteCandidate;
      t.requestStarted(c); // never completes
      outstanding.set(c.origin, (outstanding.get(c.origin) ?? 0) + 1);
    }
    const v = [...outstanding.values()];
    expect(Math.max(...v) - Math.min(...v)).toBeLessThanOrEqual(4);
  });

  it('counts errors: a replica that fails fast does not look fast', () => {
    const t = tableWithProviders({ flaky: [model('m', { computeMs: 20 })], steady: [model('m', { computeMs: 20 })] });
    const [a, b] = ok(t.select('m', q(), 0));
    const flaky = [a, b].find((c) => c?.origin === 'flaky') as RouteCandidate;
    const steady = [a, b].find((c) => c?.origin === 'steady') as RouteCandidate;
    for (let i = 0; i < 10; i++) {
      t.recordOutcome(flaky, { ok: false, latencyMs: 0.5 }, 100 + i);
      t.recordOutcome(steady, { ok: true, latencyMs: 24 }, 100 + i);
    }
    for (let i = 0; i < 50; i++) expect(firstOrigin(t.select('m', q(), 200))).toBe('steady');
    // The fast failures did not feed the latency estimate: flaky's expectation is still the advert's.
    const snap = t.snapshot(200).find((c) => c.origin === 'flaky');
    expect(snap?.expectedMs).toBe(2 + 20);
    // Errors are forgotten with time, so a recovered replica gets traffic again.
    const later = new Set<string>();
    for (let i = 0; i < 100; i++) later.add(firstOrigin(t.select('m', q(), 10 * 60_000)));
    expect(later.has('flaky')).toBe(true);
  });

  it('queue depth in the advert and calls in flight raise the metric', () => {
    const t = tableWithProviders({ busy: [model('m', { computeMs: 10, load: 6, capacity: 8 })], idle: [model('m', { computeMs: 15 })] });
    const cands = ok(t.select('m', q(), 0));
    expect(cands.map((c) => c.origin)).toEqual(['idle', 'busy']);
    expect(cands[1]?.queueWaitMs).toBe(60);
    // At capacity a call is likely refused: a whole queue's worth of extra wait.
    const full = tableWithProviders({ p: [model('m', { computeMs: 10, load: 8, capacity: 8 })] });
    expect(ok(full.select('m', q(), 0))[0]?.queueWaitMs).toBe(160);
    // Our own outstanding calls count before the provider's next advert shows them.
    const t2 = tableWithProviders({ a: [model('m', { computeMs: 10 })] });
    const c = ok(t2.select('m', q(), 0))[0] as RouteCandidate;
    for (let i = 0; i < 3; i++) t2.requestStarted(c);
    expect(ok(t2.select('m', q(), 0))[0]?.queueWaitMs).toBe(30);
  });

  it('markDown excludes a provider until the given time', () => {
    const t = tableWithProviders({ a: [model('m', { computeMs: 5 })], b: [model('m', { computeMs: 50 })] });
    t.markDown('a', 1000);
    expect(ok(t.select('m', q(), 500)).map((c) => c.origin)).toEqual(['b']);
    t.markDown('b', 1000);
    // Every route down: all are tried anyway, best first (panic mode), rather than refused.
    expect(ok(t.select('m', q(), 500)).map((c) => c.origin)).toEqual(['a', 'b']);
    expect(firstOrigin(t.select('m', q(), 1000))).toBe('a');
    // An earlier `until` does not shorten a longer mark.
    t.markDown('a', 5000);
    t.markDown('a', 2000);
    expect(ok(t.select('m', q(), 3000)).map((c) => c.origin)).toEqual(['b']);
  });

  it('markDown on a next hop excludes every route through it, not only its own models', () => {
    const t = newTable();
    t.neighbourUp('relay', 2, 0);
    t.neighbourUp('other', 20, 0);
    t.applyUpdate('relay', update(advert('p', 1, [model('m')]), 1, 1), 0);
    t.applyUpdate('other', update(advert('q', 1, [model('m', { computeMs: 40 })]), 1, 1), 0);
    expect(firstOrigin(t.select('m', q(), 0))).toBe('p');
    t.markDown('relay', 1000); // the dispatcher marks the next hop when our link to it failed
    expect(ok(t.select('m', q(), 10)).map((c) => c.origin)).toEqual(['q']);
  });

  it('markDown as a provider excludes only its own models: routes it relays stay first', () => {
    const t = newTable();
    t.neighbourUp('relay', 2, 0);
    t.neighbourUp('other', 20, 0);
    t.applyUpdate('relay', update(advert('relay', 1, [model('m')]), 1, 1), 0);
    t.applyUpdate('relay', update(advert('p', 1, [model('m', { computeMs: 2 })]), 1, 1), 0);
    t.applyUpdate('other', update(advert('q', 1, [model('m', { computeMs: 40 })]), 1, 1), 0);
    t.markDown('relay', 1000, 'provider'); // its model failed; its link is fine
    expect(ok(t.select('m', q(), 10)).map((c) => c.origin)).toEqual(['p', 'q']);
    // A later mark in the peer role takes the routes through it too, and outlasts the provider mark.
    t.markDown('relay', 2000);
    expect(ok(t.select('m', q(), 1500)).map((c) => c.origin)).toEqual(['q']);
    expect(ok(t.select('m', q(), 2000)).map((c) => c.origin)[0]).toBe('p');
    // Both marks are forgotten once past.
    expect(t.stateSizes().down).toBe(2);
    t.expire(2000);
    expect(t.stateSizes().down).toBe(0);
  });
});

describe('policies', () => {
  const replicas = () => tableWithProviders({
    a: [model('m', { computeMs: 5 })], b: [model('m', { computeMs: 10 })], c: [model('m', { computeMs: 200 })],
  });

  it('round-robin rotates through every candidate, the bad one included', () => {
    const t = replicas();
    const firsts = Array.from({ length: 6 }, () => firstOrigin(t.select('m', q(), 0, 'round-robin')));
    expect(firsts).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('random picks each candidate sometimes', () => {
    const t = replicas();
    const seen = new Set(Array.from({ length: 60 }, () => firstOrigin(t.select('m', q(), 0, 'random'))));
    expect(seen).toEqual(new Set(['a', 'b', 'c']));
  });

  it('least-outstanding picks the fewest calls in flight, ties by score', () => {
    const t = replicas();
    expect(firstOrigin(t.select('m', q(), 0, 'least-outstanding'))).toBe('a');
    const [a, b] = ok(t.select('m', q(), 0, 'least-outstanding'));
    t.requestStarted(a as RouteCandidate);
    t.requestStarted(b as RouteCandidate);
    expect(firstOrigin(t.select('m', q(), 0, 'least-outstanding'))).toBe('c');
  });

  it('plexus never picks the clearly worse replica', () => {
    const t = replicas();
    for (let i = 0; i < 100; i++) expect(firstOrigin(t.select('m', q(), 0))).not.toBe('c');
  });
});
