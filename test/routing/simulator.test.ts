import { describe, expect, it } from 'vitest';
import { Simulation, barabasiAlbert, lineTopology, randomGeometric, runScenario, type Topology } from '../../src/routing/simulator.ts';
import { randInt, seededRng, type Rng } from '../../src/routing/rng.ts';

function degrees(t: Topology): number[] {
  const d = new Array<number>(t.n).fill(0);
  for (const [a, b] of t.edges) { d[a] = (d[a] ?? 0) + 1; d[b] = (d[b] ?? 0) + 1; }
  return d;
}

function connected(t: Topology): boolean {
  const adj = Array.from({ length: t.n }, () => [] as number[]);
  for (const [a, b] of t.edges) { adj[a]?.push(b); adj[b]?.push(a); }
  const seen = new Set([0]);
  const stack = [0];
  while (stack.length > 0) for (const v of adj[stack.pop() ?? 0] ?? []) if (!seen.has(v)) { seen.add(v); stack.push(v); }
  return seen.size === t.n;
}

/**
 * Random churn for `rounds` rounds, one event per round: a link fails, a failed link comes
 * back (sometimes with another latency), a live link's latency changes (metrics move without
 * any failure: the classic count-to-infinity trigger), or a node leaves / rejoins with a
 * fresh table. Every round, every table's next-hop chain toward every origin is followed.
 */
function churn(sim: Simulation, rng: Rng, rounds: number): { loops: number; badNextHops: number; events: number } {
  const failed: [number, number, number][] = [];
  const gone = new Map<number, [number, number][]>();
  let loops = 0, badNextHops = 0, events = 0;
  for (let k = 0; k < rounds; k++) {
    const x = rng();
    const links = sim.links();
    if (x < 0.35 && links.length > 0) {
      const l = links[randInt(rng, links.length)] as [number, number, number];
      sim.linkDown(l[0], l[1]);
      failed.push(l);
    } else if (x < 0.6 && failed.length > 0) {
      const [a, b, lat] = failed.splice(randInt(rng, failed.length), 1)[0] as [number, number, number];
      sim.linkUp(a, b, rng() < 0.5 ? lat : 1 + rng() * 40);
    } else if (x < 0.85 && links.length > 0) {
      const [a, b] = links[randInt(rng, links.length)] as [number, number, number];
      sim.linkUp(a, b, 1 + rng() * 40); // an existing link: only its latency changes
    } else if (x < 0.93) {
      const v = randInt(rng, sim.tables.length);
      if (sim.isAlive(v) && gone.size < 3) gone.set(v, sim.leave(v));
    } else {
      const [v, ls] = [...gone][0] ?? [];
      if (v !== undefined && ls !== undefined) { gone.delete(v); sim.join(v, ls.filter(([j]) => sim.isAlive(j))); }
    }
    events++;
    sim.step();
    const r = sim.checkLoops();
    loops += r.loops;
    badNextHops += r.badNextHops;
  }
  for (const [v, ls] of gone) sim.join(v, ls.filter(([j]) => sim.isAlive(j)));
  for (const [a, b, l] of failed) sim.linkUp(a, b, l);
  return { loops, badNextHops, events };
}

describe('topologies', () => {
  it('Barabási–Albert: connected, mean degree ≈ 2m, a few hubs', () => {
    const t = barabasiAlbert(500, 3, seededRng(1));
    expect(connected(t)).toBe(true);
    const d = degrees(t);
    const mean = d.reduce((a, b) => a + b, 0) / t.n;
    expect(mean).toBeGreaterThan(5.5);
    expect(mean).toBeLessThan(6.5);
    expect(Math.max(...d)).toBeGreaterThan(4 * mean);
    for (const [, , lat] of t.edges) { expect(lat).toBeGreaterThanOrEqual(1); expect(lat).toBeLessThan(52); }
  });

  it('random geometric: stitched into one component, mean degree near the target', () => {
    const t = randomGeometric(500, 6, seededRng(2));
    expect(connected(t)).toBe(true);
    const mean = degrees(t).reduce((a, b) => a + b, 0) / t.n;
    expect(mean).toBeGreaterThan(4);
    expect(mean).toBeLessThan(8);
  });
});

describe('simulator', () => {
  it('converges on a line and stays quiet', () => {
    const sim = new Simulation({ topology: lineTopology(6), origins: [0, 5] });
    const r = sim.run(100);
    expect(r.converged).toBe(true);
    expect(sim.checkLoops()).toEqual({ loops: 0, routed: 10, unrouted: 0, badNextHops: 0 });
    expect(sim.step()).toEqual({ updates: 0, changed: 0 });
  });

  it('a cut line loses the far side, and regains it when the link returns', () => {
    const sim = new Simulation({ topology: lineTopology(5), origins: [4] });
    sim.run(100);
    sim.linkDown(1, 2);
    sim.run(100);
    expect(sim.tables[0]?.routeTo('n4', sim.now)).toBeUndefined();
    expect(sim.tables[2]?.routeTo('n4', sim.now)?.hops).toBe(2);
    sim.linkUp(1, 2, 10);
    sim.run(100);
    expect(sim.tables[0]?.routeTo('n4', sim.now)).toMatchObject({ nextHop: 'n1', hops: 4, metricMs: 44 }); // 4 × (10 ms link + 1 ms hop)
  });

  for (const seed of [1, 2, 3]) {
    it(`no routing loop in any round under churn, and full reachability after it (BA, seed ${seed})`, () => {
      const rng = seededRng(seed);
      const sim = new Simulation({ topology: barabasiAlbert(50, 2, rng), seed, refreshRounds: 25 });
      expect(sim.run().converged).toBe(true);
      const c = churn(sim, rng, 250);
      expect(c).toEqual({ loops: 0, badNextHops: 0, events: 250 });
      expect(sim.run(2000).converged).toBe(true);
      const r = sim.checkLoops();
      expect(r).toEqual({ loops: 0, badNextHops: 0, unrouted: 0, routed: 50 * 49 });
    });
  }

  it('no routing loop under churn without seqno requests or refresh (loop freedom must not depend on them)', () => {
    const rng = seededRng(9);
    const sim = new Simulation({ topology: randomGeometric(40, 5, rng), seed: 9, seqnoRequests: false, table: { hopLimit: 64 } });
    sim.run();
    expect(churn(sim, rng, 200)).toMatchObject({ loops: 0, badNextHops: 0 });
  });

  it('runScenario reports convergence, loops and memory for the benchmark', () => {
    const r = runScenario({ nodes: 200, origins: 20, failures: 10, seed: 3 });
    expect(r.initial.converged).toBe(true);
    expect(r.afterFailures?.converged).toBe(true);
    expect(r.loops.loops).toBe(0);
    expect(r.loops.badNextHops).toBe(0);
    expect(r.loops.routed + r.loops.unrouted).toBe(20 * 199);
    expect(r.memory.meanBytes).toBeGreaterThan(0);
  });
});
