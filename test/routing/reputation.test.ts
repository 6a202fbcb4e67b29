// The reputation rules of issue 9, on a real routing table with the clock passed in: a liar is
// ranked by what it measures, a silent peer backs off doubling, and both earn their place back.
import { describe, expect, it } from 'vitest';
import { Reputation } from '../../src/routing/reputation.ts';
import type { QueryConstraints, RouteCandidate } from '../../src/routing/types.ts';
import { advert, model, newTable, tableWithProviders, update } from './fixtures.ts';

const latency: QueryConstraints = { prefer: 'latency' };

/** liar claims 0 ms compute and answers in 2 s; honest claims and takes 300 ms. */
function setup(rep = new Reputation()): { rep: Reputation; first: (now: number) => RouteCandidate } {
  const t = tableWithProviders({ liar: [model('vad', { computeMs: 0 })], honest: [model('vad', { computeMs: 300 })] }, { policy: 'plexus', trust: rep });
  const first = (now: number): RouteCandidate => {
    const sel = t.select('vad', latency, now);
    if (!sel.ok || sel.candidates[0] === undefined) throw new Error('no route');
    return sel.candidates[0];
  };
  return { rep, first };
}

describe('claims checked by measurement', () => {
  it('a provider measured slower than its claim is ranked by the measured figure after at most 3 answers', () => {
    const { rep, first } = setup();
    let now = 1000;
    let liarAnswers = 0;
    for (let q = 0; q < 20; q++) {
      const c = first(now);
      if (c.origin === 'liar') { rep.answered('liar', 'vad', 2000, now); liarAnswers++; } else rep.answered('honest', 'vad', 302, now);
      now += 50;
    }
    expect(liarAnswers).toBeGreaterThanOrEqual(1);
    expect(liarAnswers).toBeLessThanOrEqual(3);
    expect(first(now).origin).toBe('honest');
    expect(rep.view('liar', now).measuredMs.vad).toBeGreaterThan(1900);
  });

  it('an honest provider keeps its place: a measurement close to the claim changes nothing', () => {
    const { rep, first } = setup();
    rep.answered('honest', 'vad', 310, 0);
    const c = first(10);
    const adjusted = rep.adjust(c, 10);
    expect(adjusted).toBe(c);
  });

  it('the measured excess fades: a liar no longer asked gets its claim back over time (not never)', () => {
    const { rep, first } = setup();
    rep.answered('liar', 'vad', 2000, 0);
    expect(first(100).origin).toBe('honest');
    // Half-life 20 s: 2000 ms falls under the honest 300 ms within ~60 s.
    expect(first(120_000).origin).toBe('liar');
  });
});

describe('silence checked by time', () => {
  it('each fault doubles the back-off; quiet time forgives a level per period', () => {
    const rep = new Reputation({ backoffMs: 1000, forgiveMs: 30_000 });
    expect(rep.fault('p', 0)).toBe(1000);
    expect(rep.fault('p', 2000)).toBe(2000 + 2000);
    expect(rep.fault('p', 5000)).toBe(5000 + 4000);
    expect(rep.level('p', 5000)).toBe(3);
    expect(rep.view('p', 6000).state).toBe('demoted');
    expect(rep.view('p', 10_000).state).toBe('ok');
    // 60 s without a fault: two levels forgiven, the next fault waits 2 s, not 8 s.
    expect(rep.level('p', 65_000)).toBe(1);
    expect(rep.fault('p', 65_000)).toBe(65_000 + 2000);
    expect(rep.view('p', 65_000).faults).toBe(4);
  });

  it('a try is overdue only past slackFactor × expected + slack', () => {
    const rep = new Reputation({ slackFactor: 3, slackMs: 250 });
    const { first } = setup(rep);
    const c = first(0);
    expect(rep.overdue(c, 3 * c.expectedMs + 200)).toBe(false);
    expect(rep.overdue(c, 3 * c.expectedMs + 300)).toBe(true);
  });

  it('a demoted peer is skipped by the table while another route is usable', () => {
    const rep = new Reputation();
    const t = tableWithProviders({ hole: [model('vad', { computeMs: 0 })], honest: [model('vad', { computeMs: 300 })] }, { trust: rep });
    const firstAt = (now: number): string | undefined => {
      const s = t.select('vad', latency, now);
      return s.ok ? s.candidates[0]?.origin : undefined;
    };
    expect(firstAt(0)).toBe('hole');
    t.markDown('hole', rep.fault('hole', 0));
    expect(firstAt(500)).toBe('honest');
    expect(firstAt(1500)).toBe('hole');
  });
});

describe('quarantine', () => {
  it('routes of a quarantined provider are ignored, for a doubling period', () => {
    const rep = new Reputation({ quarantineMs: 10_000 });
    const { first } = setup(rep);
    expect(first(0).origin).toBe('liar');
    expect(rep.quarantine('liar', 0)).toBe(10_000);
    expect(first(1).origin).toBe('honest');
    expect(rep.view('liar', 1)).toMatchObject({ state: 'quarantined', until: 10_000, wrongAnswers: 1 });
    expect(first(10_001).origin).toBe('liar');
    expect(rep.quarantine('liar', 20_000)).toBe(40_000);
  });

  it('a name served only by quarantined providers fails FAILED_PRECONDITION-style, saying why', () => {
    const rep = new Reputation();
    const t = tableWithProviders({ liar: [model('vad')] }, { trust: rep });
    rep.quarantine('liar', 0);
    const sel = t.select('vad', latency, 1);
    expect(sel.ok).toBe(false);
    if (!sel.ok) {
      expect(sel.failure.reason).toBe('constraints');
      expect(sel.failure.message).toMatch(/quarantined/);
    }
  });
});

describe('relayed metrics checked by measurement', () => {
  it('a relay advertising a path shorter than measured through it loses the route to an honest one', () => {
    const rep = new Reputation();
    const t = newTable('me', { trust: rep });
    t.neighbourUp('relay', 2, 0);
    t.neighbourUp('honest', 2, 0);
    const a = advert('far', 1, [model('vad', { computeMs: 10 })]);
    t.applyUpdate('relay', update(a, 0, 0), 0); // forged: "the provider is right here"
    t.applyUpdate('honest', update(a, 10, 1), 0);
    expect(t.routeTo('far', 0)?.nextHop).toBe('relay');
    const sel = t.select('vad', latency, 1);
    const viaRelay = sel.ok ? sel.candidates[0] : undefined;
    if (viaRelay === undefined) throw new Error('no route');
    expect(viaRelay.nextHop).toBe('relay');
    // Answers through the relay take 200 ms end to end: a 95 ms path one way, not ~1 ms.
    expect(rep.relayed(viaRelay, 200, 2)).toBe(true);
    expect(rep.pathFloor('far', 'relay', 2, 1)).toBeCloseTo(95, 0);
    t.reconsider('far', 2);
    // The relay's route is dropped; the honest one (metric 10) is not feasible against the
    // forged 1 ms (Babel's rule), so the table asks for a newer seq, as after a retraction.
    expect(t.routeTo('far', 2)).toBeUndefined();
    expect(t.takeSeqnoRequests(2)).toEqual([{ origin: 'far', seq: 2, to: 'honest' }]);
    t.applyUpdate('honest', update(advert('far', 2, [model('vad', { computeMs: 10 })]), 10, 1), 3);
    expect(t.routeTo('far', 3)?.nextHop).toBe('honest');
    expect(t.routeTo('far', 3)?.metricMs).toBeLessThan(20);
    // The floor fades: a relay that stops lying earns the route back over time.
    expect(rep.pathFloor('far', 'relay', 200_000, 1)).toBeUndefined();
  });

  it('on a loaded node where every relayed path measures worse than advertised, the forged one still loses the route', () => {
    const rep = new Reputation();
    const t = newTable('me', { trust: rep });
    t.neighbourUp('relay', 2, 0);
    t.neighbourUp('honest', 2, 0);
    const a = advert('far', 1, [model('vad', { computeMs: 10 })]);
    t.applyUpdate('relay', update(a, 0, 0), 0); // forged: ~1 ms with our link
    t.applyUpdate('honest', update(a, 30, 1), 0); // honest: ~31 ms with our link
    const cands = (now: number): RouteCandidate[] => {
      const sel = t.select('vad', latency, now);
      return sel.ok ? [...sel.candidates] : [];
    };
    const viaRelay = cands(1).find((c) => c.nextHop === 'relay');
    if (viaRelay === undefined) throw new Error('no route through the relay');
    rep.relayed(viaRelay, 400, 1); // load and the relay's delay: ~195 ms one way, 195 × its advert
    t.reconsider('far', 1);
    const a2 = advert('far', 2, [model('vad', { computeMs: 10 })]);
    t.applyUpdate('honest', update(a2, 30, 1), 2);
    t.applyUpdate('relay', update(a2, 0, 0), 2); // the relay passes the newer advert on, still forged
    expect(t.routeTo('far', 2)?.nextHop).toBe('honest');
    const viaHonest = cands(3).find((c) => c.nextHop === 'honest');
    if (viaHonest === undefined) throw new Error('no route through the honest neighbour');
    // One answer on the honest path under a load spike: 1 s end to end, ~16 × its advert. Both
    // now measure clearly worse than advertised; the honest one is off by the lesser factor.
    rep.relayed(viaHonest, 1000, 3);
    expect(rep.pathFloor('far', 'honest', 3, 31)).toBeGreaterThan(rep.pathFloor('far', 'relay', 3, 1) ?? Infinity);
    t.reconsider('far', 3);
    expect(t.routeTo('far', 3)?.nextHop).toBe('honest');
    expect(t.routeTo('far', 3)?.metricMs).toBeGreaterThanOrEqual(rep.pathFloor('far', 'honest', 3, 31) ?? Infinity);
  });

  it('an honest relay measured as advertised keeps its route (no floor within the margin)', () => {
    const rep = new Reputation();
    const c: RouteCandidate = { origin: 'far', model: 'vad', version: '1', nextHop: 'relay', hops: 2, pathLatencyMs: 3, computeMs: 10, queueWaitMs: 0, price: 0, provider: 'cpu', expectedMs: 16 };
    expect(rep.relayed(c, 17, 0)).toBe(false);
    expect(rep.pathFloor('far', 'relay', 0, 3)).toBeUndefined();
  });
});
