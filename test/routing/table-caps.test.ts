// The routing table's caps (issue 10): origins per neighbour, origins in all, the eviction rule,
// and that every origin the table forgets is reported (so per-origin caches can be pruned).
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/routing/rng.ts';
import { barabasiAlbert, Simulation } from '../../src/routing/simulator.ts';
import { pickEviction } from '../../src/routing/table-caps.ts';
import { advert, model, newTable, retraction, update } from './fixtures.ts';

const M = [model('m')];

describe('origins per neighbour', () => {
  it('a neighbour holds routes for at most maxOriginsPerNeighbour origins; another neighbour is not limited by it', () => {
    const t = newTable('me', { maxOriginsPerNeighbour: 3 });
    t.neighbourUp('rogue', 2, 0);
    t.neighbourUp('honest', 2, 0);
    for (let i = 0; i < 10; i++) t.applyUpdate('rogue', update(advert(`f${i}`, 1, M), 1, 1), 0);
    expect(t.stateSizes().liveOrigins).toBe(3);
    expect(t.routeTo('f3', 0)).toBeUndefined();
    // The honest neighbour may still bring new origins, and routes to the capped ones.
    t.applyUpdate('honest', update(advert('h', 1, M), 1, 1), 0);
    t.applyUpdate('honest', update(advert('f5', 1, M), 1, 1), 0);
    expect(t.routeTo('h', 0)?.nextHop).toBe('honest');
    expect(t.routeTo('f5', 0)?.nextHop).toBe('honest');
  });

  it('a retraction frees the neighbour a slot; refreshing a held origin needs none', () => {
    const t = newTable('me', { maxOriginsPerNeighbour: 2 });
    t.neighbourUp('n', 2, 0);
    const a = advert('a', 1, M);
    t.applyUpdate('n', update(a, 1, 1), 0);
    t.applyUpdate('n', update(advert('b', 1, M), 1, 1), 0);
    t.applyUpdate('n', update(advert('a', 2, M), 2, 1), 0); // a newer seq of a held origin
    expect(t.routeTo('a', 0)?.seq).toBe(2);
    t.applyUpdate('n', update(advert('c', 1, M), 1, 1), 0);
    expect(t.routeTo('c', 0)).toBeUndefined();
    t.applyUpdate('n', retraction(advert('a', 3, M)), 0);
    t.applyUpdate('n', update(advert('c', 1, M), 1, 1), 0);
    expect(t.routeTo('c', 0)?.nextHop).toBe('n');
  });

  it('a neighbour that goes down frees its slots', () => {
    const t = newTable('me', { maxOriginsPerNeighbour: 1 });
    t.neighbourUp('n', 2, 0);
    t.applyUpdate('n', update(advert('a', 1, M), 1, 1), 0);
    t.neighbourDown('n', 1);
    t.neighbourUp('n', 2, 2);
    expect(t.applyUpdate('n', update(advert('b', 1, M), 1, 1), 2)).toBe(true);
  });
});

describe('table cap and eviction', () => {
  it('a full table refuses new origins relayed by a neighbour: established ones keep their place', () => {
    const t = newTable('me', { maxOrigins: 4 });
    t.neighbourUp('a', 2, 0);
    for (let i = 0; i < 4; i++) t.applyUpdate('a', update(advert(`o${i}`, 1, M), 50, 3), 0);
    t.neighbourUp('rogue', 2, 0);
    // Better metrics do not buy a place: otherwise a near attacker would push out far honest origins.
    for (let i = 0; i < 50; i++) t.applyUpdate('rogue', update(advert(`f${i}`, 1, M), 0, 0), 0);
    expect(t.stateSizes().liveOrigins).toBe(4);
    for (let i = 0; i < 4; i++) expect(t.routeTo(`o${i}`, 0)?.nextHop).toBe('a');
    expect(t.routeTo('f0', 0)).toBeUndefined();
  });

  it("a neighbour's own advert evicts the worst-metric unused origin (then the newest), and neighbours hear its retraction", () => {
    const t = newTable('me', { maxOrigins: 3 });
    t.neighbourUp('a', 2, 0);
    t.applyUpdate('a', update(advert('near', 1, M), 1, 1), 0);
    t.applyUpdate('a', update(advert('far', 1, M), 90, 5), 1);
    t.applyUpdate('a', update(advert('used', 1, M), 200, 6), 2);
    // 'used' is the worst, but a query went to it: it is kept.
    const sel = t.select('m', { prefer: 'latency' }, 3);
    const c = sel.ok ? sel.candidates.find((x) => x.origin === 'used') : undefined;
    expect(c).toBeDefined();
    if (c !== undefined) { t.requestStarted(c); t.recordOutcome(c, { ok: true, latencyMs: 5 }, 3); }
    t.updatesFor('a', true);
    t.neighbourUp('newcomer', 2, 4);
    expect(t.applyUpdate('newcomer', update(advert('newcomer', 1, M), 0, 0), 4)).toBe(true);
    expect(t.routeTo('newcomer', 4)?.nextHop).toBe('newcomer');
    expect(t.routeTo('far', 4)).toBeUndefined();
    expect(t.routeTo('used', 4)).toBeDefined();
    expect(t.routeTo('near', 4)).toBeDefined();
    expect(t.stateSizes().liveOrigins).toBe(3);
    // The evicted origin is retracted toward the other neighbours.
    const out = t.updatesFor('newcomer', false).find((u) => u.advert.origin === 'far');
    expect(out).toMatchObject({ retracted: true });
  });

  it('origins that are neighbours are never evicted; with nothing evictable the newcomer is refused', () => {
    const t = newTable('me', { maxOrigins: 2 });
    for (const p of ['p', 'q']) {
      t.neighbourUp(p, 2, 0);
      t.applyUpdate(p, update(advert(p, 1, M), 0, 0), 0);
    }
    t.neighbourUp('r', 2, 0);
    expect(t.applyUpdate('r', update(advert('r', 1, M), 0, 0), 0)).toBe(false);
    expect(t.routeTo('p', 0)).toBeDefined();
    expect(t.routeTo('q', 0)).toBeDefined();
  });

  it('pickEviction: worst metric first, unreachable before all, then the newest', () => {
    expect(pickEviction([])).toBeUndefined();
    expect(pickEviction([{ origin: 'a', metricMs: 5, addedAt: 0 }, { origin: 'b', metricMs: 9, addedAt: 0 }])).toBe('b');
    expect(pickEviction([{ origin: 'a', metricMs: 9, addedAt: 0 }, { origin: 'b', metricMs: Infinity, addedAt: 0 }])).toBe('b');
    expect(pickEviction([{ origin: 'a', metricMs: 9, addedAt: 5 }, { origin: 'b', metricMs: 9, addedAt: 1 }])).toBe('a');
  });

  it('entries kept only to send a retraction are bounded too (2 × maxOrigins)', () => {
    const t = newTable('me', { maxOrigins: 5, holdMs: 1_000_000 });
    t.neighbourUp('n', 2, 0);
    for (let i = 0; i < 100; i++) {
      t.applyUpdate('n', update(advert(`o${i}`, 1, M), 1, 1), i);
      t.applyUpdate('n', retraction(advert(`o${i}`, 2, M)), i);
    }
    expect(t.stateSizes().origins).toBeLessThanOrEqual(10);
  });
});

describe('forgotten origins', () => {
  it('every origin the table forgets is reported, and its per-origin stats go with it', () => {
    const t = newTable('me', { holdMs: 100 });
    const gone: string[] = [];
    t.onOriginGone = (o) => { gone.push(o); };
    t.neighbourUp('n', 2, 0);
    for (let i = 0; i < 20; i++) t.applyUpdate('n', update(advert(`o${i}`, 1, M), 1, 1), 0);
    const sel = t.select('m', { prefer: 'latency' }, 0);
    const c = sel.ok ? sel.candidates[0] : undefined;
    if (c !== undefined) { t.requestStarted(c); t.recordOutcome(c, { ok: true, latencyMs: 1 }, 0); }
    expect(t.stateSizes().stats).toBe(1);
    t.expire(150); // routes expire
    t.expire(300); // entries are forgotten a hold time later
    expect(gone.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `o${i}`).sort());
    expect(t.stateSizes()).toMatchObject({ origins: 0, liveOrigins: 0, routes: 0, stats: 0, seqnoWanted: 0 });
  });
});

describe('caps in the simulator', () => {
  it('a 60-node network with caps above its size converges to full reachability, loop-free', () => {
    const rng = seededRng(4);
    const sim = new Simulation({ topology: barabasiAlbert(60, 2, rng), seed: 4, table: { maxOrigins: 64, maxOriginsPerNeighbour: 64 } });
    expect(sim.run().converged).toBe(true);
    expect(sim.checkLoops()).toEqual({ loops: 0, badNextHops: 0, unrouted: 0, routed: 60 * 59 });
  });

  it('caps below its size: every node keeps at most maxOrigins origins, and the routes it keeps are loop-free', () => {
    const rng = seededRng(5);
    const sim = new Simulation({ topology: barabasiAlbert(60, 2, rng), seed: 5, table: { maxOrigins: 20, maxOriginsPerNeighbour: 12 } });
    sim.run();
    for (const t of sim.tables) expect(t.stateSizes().liveOrigins).toBeLessThanOrEqual(20);
    expect(sim.checkLoops()).toMatchObject({ loops: 0, badNextHops: 0 });
  });
});

describe('peers in use (protected connection slots)', () => {
  it('providers with a selected route and their next hops; not a neighbour that offers nothing', () => {
    const t = newTable('me');
    for (const p of ['relay', 'provider', 'empty']) t.neighbourUp(p, 2, 0);
    t.applyUpdate('provider', update(advert('provider', 1, M), 0, 0), 0);
    t.applyUpdate('relay', update(advert('far', 1, M), 5, 2), 0);
    t.applyUpdate('relay', update(advert('relay', 1, []), 0, 0), 0);
    t.applyUpdate('empty', update(advert('empty', 1, []), 0, 0), 0);
    expect([...t.peersInUse()].sort()).toEqual(['far', 'provider', 'relay']);
  });
});

describe('neighbour links (for trimming a crowded mesh)', () => {
  it('counts the origins each neighbour offers at one hop, and whether another neighbour offers it at one hop', () => {
    const t = newTable('me');
    for (const p of ['a', 'b', 'c']) t.neighbourUp(p, 2, 0);
    for (const p of ['a', 'b', 'c']) t.applyUpdate(p, update(advert(p, 1, []), 0, 0), 0);
    // a is connected to b and x; b to a; c offers a only two hops away.
    t.applyUpdate('a', update(advert('b', 1, []), 1, 1), 0);
    t.applyUpdate('a', update(advert('x', 1, []), 1, 1), 0);
    t.applyUpdate('b', update(advert('a', 1, []), 1, 1), 0);
    t.applyUpdate('c', update(advert('a', 1, []), 3, 2), 0);
    const l = t.neighbourLinks(0);
    expect(l.get('a')).toEqual({ direct: 2, detour: true });
    expect(l.get('b')).toEqual({ direct: 1, detour: true });
    expect(l.get('c')).toEqual({ direct: 0, detour: false });
    // Expired routes do not count.
    expect(t.neighbourLinks(1e9).get('a')).toEqual({ direct: 0, detour: false });
  });
});

describe('urgent changes (what deserves a triggered update of its own)', () => {
  it('a new route, a new seq, a lost route and a large metric change are urgent; a small metric drift waits for the next flush', () => {
    const t = newTable('me');
    t.neighbourUp('n', 2, 0);
    const a1 = advert('o', 1, M);
    expect(t.applyUpdate('n', update(a1, 20, 1), 0)).toBe(true);
    expect(t.takeUrgentChange()).toBe(true);
    expect(t.takeUrgentChange()).toBe(false);
    // 20 -> 23 ms: significant (announced again) but not urgent.
    expect(t.applyUpdate('n', update(a1, 23, 1), 0)).toBe(true);
    expect(t.takeUrgentChange()).toBe(false);
    // 23 -> 60 ms: urgent.
    expect(t.applyUpdate('n', update(a1, 60, 1), 0)).toBe(true);
    expect(t.takeUrgentChange()).toBe(true);
    expect(t.applyUpdate('n', update(advert('o', 2, M), 60, 1), 0)).toBe(true);
    expect(t.takeUrgentChange()).toBe(true);
    expect(t.applyUpdate('n', retraction(advert('o', 3, M)), 0)).toBe(true);
    expect(t.takeUrgentChange()).toBe(true);
  });
});
