// The per-capability bound (maxOriginsPerCapability): a node advertises only its k best origins
// per model name or capability, so tables and refreshes stop growing with the number of
// providers, while every node still reaches its k best, with no loops and no dead ends, under churn.
import { describe, expect, it } from 'vitest';
import { CapabilityTopK, advertKeys } from '../../src/routing/cap-bound.ts';
import { LinkChurn, Simulation, barabasiAlbert } from '../../src/routing/simulator.ts';
import { checkCoverage, tableCost, threeOf } from '../../src/routing/sim-checks.ts';
import { seededRng } from '../../src/routing/rng.ts';

describe('CapabilityTopK', () => {
  it('keeps the k lowest metrics per key and reports who entered or left', () => {
    const b = new CapabilityTopK(2);
    expect(b.update('a', ['x'], 10)).toEqual(['a']);
    expect(b.update('b', ['x'], 20).sort()).toEqual(['b']);
    // c beats b: b leaves, c enters.
    expect(b.update('c', ['x'], 15).sort()).toEqual(['b', 'c']);
    expect([b.advertised('a'), b.advertised('b'), b.advertised('c')]).toEqual([true, false, true]);
    // a loses its route: b is back.
    expect(b.update('a', ['x'], Infinity).sort()).toEqual(['a', 'b']);
    // Kept under any of its keys is enough.
    b.update('d', ['x', 'y'], 99);
    expect(b.advertised('d')).toBe(true);
    expect(b.update('d', [], Infinity)).toEqual(['d']);
    expect(b.keys).toBe(1);
    expect(() => new CapabilityTopK(0)).toThrow(RangeError);
    expect(advertKeys([])).toEqual(['']);
    expect(advertKeys([{ name: 'm', capabilities: ['c1', 'c2'] }]).sort()).toEqual(['c1', 'c2', 'm']);
  });
});

function build(k: number | undefined): { sim: Simulation; caps: (i: number) => readonly string[] } {
  const caps = threeOf(3);
  const sim = new Simulation({
    topology: barabasiAlbert(100, 3, seededRng(11)), origins: 80, seed: 5, capabilities: caps,
    ...(k === undefined ? {} : { table: { maxOriginsPerCapability: k } }),
  });
  return { sim, caps };
}

describe('simulated network with maxOriginsPerCapability', () => {
  it('bounds entries and refresh size by k, not by providers, and every node keeps its k best', () => {
    const K = 3;
    const free = build(undefined);
    expect(free.sim.run(500).converged).toBe(true);
    const bounded = build(K);
    expect(bounded.sim.run(500).converged).toBe(true);
    const f = tableCost(free.sim);
    const b = tableCost(bounded.sim);
    // 3 capabilities + 3 model names: at most 6 × k origins advertised per neighbour, plus its own advert.
    const perNeighbourBound = 6 * K + 1;
    const degree = new Map<number, number>();
    for (const [x, y] of bounded.sim.links()) { degree.set(x, (degree.get(x) ?? 0) + 1); degree.set(y, (degree.get(y) ?? 0) + 1); }
    const maxDegree = Math.max(...degree.values());
    expect(b.refreshEntriesMax).toBeLessThanOrEqual(perNeighbourBound * maxDegree);
    expect(f.entriesMean).toBeGreaterThan(75); // unbounded: (almost) every provider everywhere
    expect(b.entriesMean).toBeLessThan(f.entriesMean * 0.6);
    expect(b.refreshEntriesMean).toBeLessThan(f.refreshEntriesMean / 4);
    const cov = checkCoverage(bounded.sim, K, bounded.caps);
    expect(cov).toMatchObject({ underCovered: 0, deadEnds: 0 });
    expect(cov.pairs).toBe(100 * 3);
    expect(bounded.sim.checkLoops()).toMatchObject({ loops: 0, badNextHops: 0 });
  });

  it('stays loop-free under churn and covers the k best again after it', () => {
    const K = 3;
    const { sim, caps } = build(K);
    expect(sim.run(500).converged).toBe(true);
    const rng = seededRng(3);
    const churn = new LinkChurn(sim, rng);
    let loops = 0;
    for (let round = 0; round < 40; round++) {
      churn.events(3);
      sim.step();
      const r = sim.checkLoops();
      loops += r.loops + r.badNextHops;
    }
    expect(loops).toBe(0);
    churn.restoreAll();
    expect(sim.run(500).converged).toBe(true);
    expect(checkCoverage(sim, K, caps)).toMatchObject({ underCovered: 0, deadEnds: 0 });
    expect(sim.checkLoops()).toMatchObject({ loops: 0, badNextHops: 0 });
  });
});
