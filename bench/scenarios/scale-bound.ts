// Scenario: the control plane with many providers. The real RoutingTable in the simulator
// (src/routing/simulator.ts) on Barabási–Albert topologies (degree ≈ 6); every provider
// advertises 3 of 10 capabilities (its model named after the first: 20 names in all). Per
// case: table entries per node, a full refresh's route entries per node (the steady-state
// control traffic per refresh period), every node reaching its k best providers of every
// capability (underCovered) with no dead ends, and loops under churn, with and without the
// per-capability bound (RoutingTable maxOriginsPerCapability, src/routing/cap-bound.ts).
import { performance } from 'node:perf_hooks';
import { Simulation, barabasiAlbert } from '../../src/routing/simulator.ts';
import { checkCoverage, tableCost, threeOf } from '../../src/routing/sim-checks.ts';
import { randInt, seededRng } from '../../src/routing/rng.ts';
import { DEFAULT_ORIGINS_PER_CAPABILITY } from '../../src/routing/cap-bound.ts';
import { round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';

interface Case { readonly nodes: number; readonly providers: number; readonly k: number | undefined; readonly churnRounds: number }

const POOL = 10;
const COLUMNS = ['nodes', 'providers', 'k', 'rounds', 'updates', 'entriesMean', 'entriesMax', 'bytesPerNodeMean', 'refreshEntriesMean', 'refreshEntriesMax', 'underCovered', 'deadEnds', 'churnLoops', 'reconvRounds', 'cpuS'];

function runCase(c: Case, ctx: ScenarioContext): ResultRow {
  const cpu0 = process.cpuUsage();
  const rng = seededRng(0xb0 + c.nodes);
  const caps = threeOf(POOL);
  const sim = new Simulation({
    topology: barabasiAlbert(c.nodes, 3, rng), origins: c.providers, seed: c.nodes, capabilities: caps,
    ...(c.k === undefined ? {} : { table: { maxOriginsPerCapability: c.k } }),
  });
  const initial = sim.run(500);
  const mem = sim.memory();
  const cost = tableCost(sim);
  const k = c.k ?? c.providers;
  const cov = checkCoverage(sim, k, caps);
  ctx.log(`scale-bound: ${c.nodes} nodes, ${c.providers} providers, k=${c.k ?? '∞'}: converged=${initial.converged} in ${initial.rounds} rounds`);
  const failed: [number, number, number][] = [];
  let loops = 0;
  for (let r = 0; r < c.churnRounds; r++) {
    for (let e = 0; e < 5; e++) {
      const links = sim.links();
      if (rng() < 0.6 && links.length > 0) {
        const l = links[randInt(rng, links.length)] as [number, number, number];
        sim.linkDown(l[0], l[1]);
        failed.push(l);
      } else if (failed.length > 0) {
        const [a, b, lat] = failed.splice(randInt(rng, failed.length), 1)[0] as [number, number, number];
        sim.linkUp(a, b, lat);
      }
    }
    sim.step();
    const l = sim.checkLoops();
    loops += l.loops + l.badNextHops;
  }
  for (const [a, b, l] of failed) sim.linkUp(a, b, l);
  const reconv = sim.run(500);
  const after = checkCoverage(sim, k, caps);
  const cpu = process.cpuUsage(cpu0);
  return {
    label: `${c.nodes} nodes, ${c.providers} providers × 3 caps, ${c.k === undefined ? 'unbounded' : `k=${c.k}`}`,
    values: {
      nodes: c.nodes, providers: c.providers, k: c.k ?? null, rounds: initial.converged ? initial.rounds : null, updates: initial.updates,
      entriesMean: round(cost.entriesMean), entriesMax: cost.entriesMax, bytesPerNodeMean: Math.round(mem.meanBytes),
      refreshEntriesMean: round(cost.refreshEntriesMean), refreshEntriesMax: cost.refreshEntriesMax,
      underCovered: cov.underCovered + after.underCovered, deadEnds: cov.deadEnds + after.deadEnds, churnLoops: loops,
      reconvRounds: reconv.converged ? reconv.rounds : null, cpuS: round((cpu.user + cpu.system) / 1e6),
    },
  };
}

export const scaleBoundScenario: Scenario = {
  name: 'scale-bound',
  title: 'Control plane with many providers: table entries and refresh traffic per node, with and without the per-capability bound (simulated)',
  run(ctx): Promise<ScenarioResult> {
    const started = performance.now();
    const k = DEFAULT_ORIGINS_PER_CAPABILITY;
    const cases: Case[] = ctx.quick
      ? [{ nodes: 1000, providers: 300, k: undefined, churnRounds: 10 }, { nodes: 1000, providers: 300, k, churnRounds: 10 }]
      : [
        { nodes: 1000, providers: 300, k: undefined, churnRounds: 20 },
        { nodes: 1000, providers: 300, k, churnRounds: 20 },
        { nodes: 1000, providers: 1000, k, churnRounds: 10 },
        { nodes: 10_000, providers: 1000, k, churnRounds: 3 },
      ];
    const rows = cases.map((c) => runCase(c, ctx));
    const metrics: Record<string, number | null> = {};
    for (const r of rows) {
      const key = `N${r.values['nodes'] as number}P${r.values['providers'] as number}${r.values['k'] === null ? 'Unbounded' : 'K'}`;
      metrics[`entries${key}`] = r.values['entriesMean'] as number;
      metrics[`refreshEntries${key}`] = r.values['refreshEntriesMean'] as number;
    }
    metrics['boundLoops'] = rows.reduce((a, r) => a + (r.values['churnLoops'] as number), 0);
    metrics['boundUnderCovered'] = rows.reduce((a, r) => a + (r.values['underCovered'] as number), 0);
    return Promise.resolve({
      name: 'scale-bound', title: this.title, status: 'ok', durationMs: performance.now() - started, columns: COLUMNS, rows, metrics,
      notes: [
        `Providers advertise 3 of ${POOL} capabilities and a model named after the first (20 names). k = maxOriginsPerCapability (default ${k} when set): a node advertises onward only its k best origins per name.`,
        'entries = origins a table holds (routes from its neighbours, advertised or not); refreshEntries = route entries one full refresh sends, summed over the node\'s neighbours (the steady-state control traffic per refresh period; triggered updates are 0 once converged).',
        'Bound: per neighbour at most k × names + 1 entries a refresh, and a table holds at most degree × that, whatever the number of providers; without it both grow with the providers (every node holds every provider).',
        'underCovered: (node, capability) pairs reaching fewer than min(k, providers of it) providers, after convergence and again after churn and reconvergence (must be 0); deadEnds: a held route whose next-hop chain stops at a node without one (must be 0). churnLoops: next-hop cycles or dead next hops over every (node, provider) pair after each churn round (5 link events a round).',
        ...(ctx.quick ? ['Quick run: 1k nodes, 300 providers only; the full run adds 1k nodes × 1k providers and 10k nodes × 1k providers with the bound.'] : []),
      ],
    });
  },
};
