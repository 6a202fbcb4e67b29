import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.ts';
import { Simulation, lineTopology } from '../../src/routing/simulator.ts';
import type { RoutingTable } from '../../src/routing/table.ts';
import type { RouteUpdate } from '../../src/routing/types.ts';
import { advert, model, newTable, retraction, update } from './fixtures.ts';

const M = [model('m')];
const latency = { prefer: 'latency' } as const;

/** me with neighbours a and b, both at a 1 ms one-way link. */
function twoNeighbours(options = {}): RoutingTable {
  const t = newTable('me', options);
  t.neighbourUp('a', 2, 0);
  t.neighbourUp('b', 2, 0);
  return t;
}

function byOrigin(ups: readonly RouteUpdate[], origin: string): RouteUpdate | undefined {
  return ups.find((u) => u.advert.origin === origin);
}

describe('metric accumulation', () => {
  it('adds link latency and the hop cost, and counts hops along a path (4-node line, 10 ms links)', () => {
    const sim = new Simulation({ topology: lineTopology(4, 10), origins: [3] });
    const run = sim.run();
    expect(run.converged).toBe(true);
    // Each hop costs its 10 ms link plus the default 1 ms hop cost (the relay's own work).
    for (const [node, metric, hops] of [[2, 11, 1], [1, 22, 2], [0, 33, 3]] as const) {
      const r = sim.tables[node]?.routeTo('n3', sim.now);
      expect(r).toMatchObject({ metricMs: metric, hops });
    }
    expect(sim.tables[0]?.routeTo('n3', sim.now)?.nextHop).toBe('n1');
    const c = sim.tables[0]?.snapshot(sim.now).find((x) => x.origin === 'n3');
    // Expected end to end: there and back over 33 ms, plus the advertised 5 ms compute.
    expect(c).toMatchObject({ pathLatencyMs: 33, hops: 3, nextHop: 'n1', expectedMs: 71 });
  });

  it('prefers a direct neighbour to a relayed route the link latencies cannot tell apart', () => {
    // o is heard through relay a first, then directly; the links are equally fast (0.1 ms).
    // Without a hop cost the two routes differ by 0.1 ms, under the switch margin, and the
    // relayed route would stay selected, paying a relay's forwarding work on every query.
    const t = newTable('me', { hopCostMs: 1 });
    t.neighbourUp('a', 0.2, 0);
    t.neighbourUp('o', 0.2, 0);
    t.applyUpdate('a', update(advert('o', 1, M), 1.1, 0), 0);
    expect(t.routeTo('o', 0)).toMatchObject({ nextHop: 'a', hops: 1 });
    t.applyUpdate('o', update(advert('o', 1, M), 0, 0), 0);
    expect(t.routeTo('o', 0)).toMatchObject({ nextHop: 'o', hops: 1, metricMs: 1.1 });
    // And the same order of hearing without the hop cost keeps the relay: the hop cost is what decides.
    const u = newTable('me', { hopCostMs: 0 });
    u.neighbourUp('a', 0.2, 0);
    u.neighbourUp('o', 0.2, 0);
    u.applyUpdate('a', update(advert('o', 1, M), 0.1, 0), 0);
    u.applyUpdate('o', update(advert('o', 1, M), 0, 0), 0);
    expect(u.routeTo('o', 0)?.nextHop).toBe('a');
  });

  it('announces its own total metric and hop count onward', () => {
    const t = twoNeighbours();
    t.applyUpdate('a', update(advert('o', 1, M), 10, 2), 0);
    expect(t.routeTo('o', 0)).toEqual({ nextHop: 'a', metricMs: 11, hops: 3, seq: 1 });
    expect(byOrigin(t.updatesFor('b', true), 'o')).toMatchObject({ metricMs: 11, hops: 3, retracted: false });
    // Split horizon with poison reverse: the next hop hears that we cannot reach o except through it.
    expect(byOrigin(t.updatesFor('a', true), 'o')).toMatchObject({ metricMs: Infinity, retracted: true });
  });

  it('follows link latency samples (EWMA) into the metric', () => {
    const t = twoNeighbours();
    t.applyUpdate('a', update(advert('o', 1, M), 10, 1), 0);
    t.observeLink('a', 42, 60_000); // a long-quiet link: the new sample dominates
    expect(t.routeTo('o', 60_000)?.metricMs).toBeGreaterThan(25);
    expect(t.linkCost('a', 60_000)).toBeGreaterThan(15);
  });

  it('local models are announced at metric 0, hop 0, with a rising seq', () => {
    const t = twoNeighbours();
    const a1 = t.setLocalModels(M, 0);
    const a2 = t.setLocalModels([], 0);
    expect(a2.seq).toBeGreaterThan(a1.seq);
    expect(byOrigin(t.updatesFor('a', true), 'me')).toEqual({ advert: a2, metricMs: 0, hops: 0, retracted: false });
    expect(t.refreshLocal(5).seq).toBeGreaterThan(a2.seq);
  });
});

describe('sequence numbers', () => {
  it('a stale advert loses: an older seq is not selected even with a better metric', () => {
    const t = twoNeighbours();
    t.applyUpdate('a', update(advert('o', 5, [model('new')]), 10, 1), 0);
    t.applyUpdate('b', update(advert('o', 4, [model('old')]), 0, 0), 0);
    expect(t.routeTo('o', 0)).toMatchObject({ nextHop: 'a', seq: 5 });
    expect(t.adverts().find((a) => a.origin === 'o')?.seq).toBe(5);
    expect(t.select('old', latency, 0).ok).toBe(false);
    expect(t.select('new', latency, 0).ok).toBe(true);
  });

  it('a newer advert wins: its models replace the old ones, even when it arrives over a worse path', () => {
    const t = twoNeighbours();
    t.applyUpdate('a', update(advert('o', 5, [model('v1')]), 1, 1), 0);
    t.applyUpdate('b', update(advert('o', 6, [model('v2')]), 30, 1), 0);
    const names = t.snapshot(0).filter((c) => c.origin === 'o').map((c) => c.model);
    expect(names).toEqual(['v2']);
    expect(t.adverts().find((a) => a.origin === 'o')?.seq).toBe(6);
  });

  it('a withdrawal (empty model list, new seq) removes the models at once', () => {
    const t = twoNeighbours();
    t.applyUpdate('a', update(advert('o', 5, M), 1, 1), 0);
    t.applyUpdate('b', update(advert('o', 5, M), 5, 1), 0);
    expect(t.select('m', latency, 0).ok).toBe(true);
    t.applyUpdate('b', update(advert('o', 6, []), 5, 1), 1); // heard first from the worse neighbour
    const s = t.select('m', latency, 1);
    expect(s.ok ? 'ok' : s.failure.reason).toBe('unknown');
    // An older copy still in flight does not bring the models back.
    t.applyUpdate('a', update(advert('o', 5, M), 1, 1), 2);
    expect(t.select('m', latency, 2).ok).toBe(false);
  });
});

describe('feasibility (RFC 8966 §3.5.1)', () => {
  it('an unfeasible update is not selected, even when it is the only route left; a seqno request fixes it', () => {
    const t = twoNeighbours();
    t.applyUpdate('a', update(advert('o', 5, M), 10, 1), 0); // ours: 11, FD = (5, 11)
    t.applyUpdate('b', update(advert('o', 5, M), 20, 2), 0); // 20 ≥ 11: b may route through us
    t.neighbourDown('a', 1);
    expect(t.routeTo('o', 1)).toBeUndefined();
    const s = t.select('m', latency, 1);
    expect(s.ok ? 'ok' : s.failure.reason).toBe('unknown');
    // We retract toward b rather than announce a route we do not have.
    expect(byOrigin(t.updatesFor('b', false), 'o')).toMatchObject({ retracted: true });
    expect(t.takeSeqnoRequests(1)).toEqual([{ origin: 'o', seq: 6, to: 'b' }]);
    expect(t.takeSeqnoRequests(1)).toEqual([]); // asked once for now
    // Unanswered (a lost request or answer), it is asked again with backoff: 0.5 s, then 1 s later.
    expect(t.takeSeqnoRequests(500)).toEqual([]);
    expect(t.takeSeqnoRequests(501)).toEqual([{ origin: 'o', seq: 6, to: 'b' }]);
    expect(t.takeSeqnoRequests(1500)).toEqual([]);
    expect(t.takeSeqnoRequests(1501)).toHaveLength(1);
    // The origin's newer seq makes b's route feasible.
    expect(t.applyUpdate('b', update(advert('o', 6, M), 20, 2), 2)).toBe(true);
    expect(t.routeTo('o', 2)).toMatchObject({ nextHop: 'b', metricMs: 21, seq: 6 });
    expect(t.takeSeqnoRequests(60_000)).toEqual([]); // answered: no more requests
  });

  it('a feasible alternative (metric below FD) takes over when the selected route goes', () => {
    const t = twoNeighbours();
    t.applyUpdate('a', update(advert('o', 5, M), 10, 1), 0);
    t.applyUpdate('b', update(advert('o', 5, M), 10.5, 1), 0);
    expect(t.routeTo('o', 0)?.nextHop).toBe('a'); // not better by the switch margin: no flap
    t.neighbourDown('a', 1);
    expect(t.routeTo('o', 1)).toMatchObject({ nextHop: 'b', metricMs: 11.5 });
  });

  it('keeps its current next hop when that route\'s metric grows (it cannot be a loop)', () => {
    const t = twoNeighbours();
    t.applyUpdate('a', update(advert('o', 5, M), 10, 1), 0);
    t.applyUpdate('a', update(advert('o', 5, M), 30, 1), 1);
    expect(t.routeTo('o', 1)).toMatchObject({ nextHop: 'a', metricMs: 31 });
    // But a better route through another neighbour must still be below FD (11) to be taken.
    t.applyUpdate('b', update(advert('o', 5, M), 12, 1), 1);
    expect(t.routeTo('o', 1)?.nextHop).toBe('a');
    t.applyUpdate('b', update(advert('o', 5, M), 3, 1), 1);
    expect(t.routeTo('o', 1)).toMatchObject({ nextHop: 'b', metricMs: 4 });
  });

  it('answers seqno requests: the origin bumps, a holder answers, others forward or drop', () => {
    const origin = twoNeighbours();
    const a1 = origin.setLocalModels(M, 0);
    expect(origin.onSeqnoRequest('a', 'me', a1.seq + 1, 0)).toEqual({ kind: 'bumped' });
    expect(origin.adverts()[0]?.seq).toBeGreaterThan(a1.seq);
    const t = twoNeighbours();
    t.applyUpdate('a', update(advert('o', 5, M), 10, 1), 0);
    expect(t.onSeqnoRequest('b', 'o', 5, 0)).toEqual({ kind: 'answered' });
    expect(t.onSeqnoRequest('b', 'o', 6, 0)).toEqual({ kind: 'forward', to: 'a' });
    expect(t.onSeqnoRequest('a', 'o', 6, 0)).toEqual({ kind: 'drop' }); // never back to where it came from
    expect(t.onSeqnoRequest('b', 'nobody', 1, 0)).toEqual({ kind: 'drop' });
  });
});

describe('expiry and neighbours going down', () => {
  it('routes vanish after the hold time without a refresh, and a refresh keeps them', () => {
    const t = twoNeighbours({ holdMs: 1000 });
    t.applyUpdate('a', update(advert('o', 1, M), 1, 1), 0);
    t.applyUpdate('b', update(advert('p', 1, M), 1, 1), 0);
    expect(t.expire(999)).toBe(false);
    t.applyUpdate('b', update(advert('p', 1, M), 1, 1), 900); // same update again = refresh
    expect(t.expire(1000)).toBe(true);
    expect(t.routeTo('o', 1000)).toBeUndefined();
    expect(t.routeTo('p', 1000)?.nextHop).toBe('b');
    expect(byOrigin(t.updatesFor('b', false), 'o')).toMatchObject({ retracted: true });
    expect(t.expire(1899)).toBe(false);
    expect(t.expire(1900)).toBe(true);
    expect(t.select('m', latency, 1900).ok).toBe(false);
    // A forgotten origin is collected after another hold time.
    expect(t.originCount).toBe(2);
    t.expire(3000);
    expect(t.originCount).toBe(0);
  });

  it('neighbourDown withdraws every route through it and tells the other neighbours', () => {
    const t = twoNeighbours();
    t.neighbourUp('c', 2, 0);
    t.applyUpdate('a', update(advert('o', 1, M), 1, 1), 0);
    t.applyUpdate('a', update(advert('p', 1, M), 1, 1), 0);
    t.applyUpdate('c', update(advert('q', 1, M), 1, 1), 0);
    t.updatesFor('b', true);
    t.neighbourDown('a', 5);
    expect(t.routeTo('o', 5)).toBeUndefined();
    expect(t.routeTo('p', 5)).toBeUndefined();
    expect(t.routeTo('q', 5)?.nextHop).toBe('c');
    const ups = t.updatesFor('b', false);
    expect(ups.map((u) => [u.advert.origin, u.retracted]).sort()).toEqual([['o', true], ['p', true]]);
    expect(t.snapshot(5).map((c) => c.origin)).toEqual(['q']);
    // Updates from a peer that is no longer a neighbour are ignored.
    expect(t.applyUpdate('a', update(advert('o', 2, M), 1, 1), 6)).toBe(false);
  });

  it('a retraction removes that neighbour\'s route only', () => {
    const t = twoNeighbours();
    const o = advert('o', 1, M);
    t.applyUpdate('a', update(o, 1, 1), 0);
    t.applyUpdate('b', update(o, 1.2, 1), 0);
    t.applyUpdate('a', retraction(o), 1);
    expect(t.routeTo('o', 1)?.nextHop).toBe('b');
  });

  it('drops routes past the hop limit', () => {
    const t = twoNeighbours({ hopLimit: 4 });
    t.applyUpdate('a', update(advert('o', 1, M), 1, 3), 0);
    expect(t.routeTo('o', 0)?.hops).toBe(4);
    t.applyUpdate('b', update(advert('p', 1, M), 1, 4), 0);
    expect(t.routeTo('p', 0)).toBeUndefined();
  });
});

describe('input checks', () => {
  it('rejects malformed updates from a neighbour with a ProtocolError', () => {
    const t = twoNeighbours();
    const bad: RouteUpdate[] = [
      { ...update(advert('o', 1, M), -1, 1) },
      { ...update(advert('o', 1, M), 1, 1.5) },
      { ...update(advert('o', 1, M), 1, -1) },
      { ...update(advert('o', Number.NaN, M), 1, 1) },
      { ...update(advert('', 1, M), 1, 1) },
    ];
    for (const u of bad) expect(() => t.applyUpdate('a', u, 0)).toThrow(ProtocolError);
    expect(t.originCount).toBe(0);
  });

  it('ignores its own adverts echoed back', () => {
    const t = twoNeighbours();
    t.setLocalModels(M, 0);
    expect(t.applyUpdate('a', update(advert('me', 99, []), 1, 1), 0)).toBe(false);
    expect(t.select('m', latency, 0).ok).toBe(true);
  });
});
