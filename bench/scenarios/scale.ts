// Scenario: routing at scale. The real RoutingTable, one per node, driven by the simulator
// (src/routing/simulator.ts: synchronous rounds, one round = one link delay, every message of
// a round delivered at the start of the next) on Barabási–Albert topologies (preferential
// attachment, m = 3, mean degree ≈ 6, small-world like a libp2p overlay).
// Per size: rounds and route updates until the whole network is quiet, routing-state bytes
// per node (the table's own estimate from its entry counts, and the process heap delta),
// then churn (random link failures, recoveries and latency changes, one batch per round) with
// a loop check over every (node, provider) pair after every round, and reconvergence.
// Every node is a router; `providers` of them advertise a model (a route per provider).
import { performance } from 'node:perf_hooks';
import { LinkChurn, Simulation, barabasiAlbert } from '../../src/routing/simulator.ts';
import { seededRng } from '../../src/routing/rng.ts';
import { round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';

interface Size {
  readonly nodes: number;
  readonly providers: number;
  readonly churnRounds: number;
  /** Link events per churn round. */
  readonly eventsPerRound: number;
}

const COLUMNS = [
  'nodes', 'links', 'providers', 'rounds', 'updates', 'updatesPerNode', 'bytesPerNodeMean', 'bytesPerNodeMax', 'heapPerNodeB',
  'churnRounds', 'churnLoops', 'badNextHops', 'reconvRounds', 'unroutedAfter', 'cpuS', 'wallS',
];

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

function runSize(s: Size, ctx: ScenarioContext): { row: ResultRow; converged: boolean; loops: number } {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const rng = seededRng(0x5eed + s.nodes);
  const topology = barabasiAlbert(s.nodes, 3, rng);
  const heap0 = heapUsed();
  const sim = new Simulation({ topology, origins: s.providers, seed: s.nodes, refreshRounds: 0 });
  const initial = sim.run(500);
  const heap1 = heapUsed();
  const mem = sim.memory();
  ctx.log(`scale: ${s.nodes} nodes converged=${initial.converged} in ${initial.rounds} rounds, ${initial.updates} updates`);

  // Churn: fail links, bring failed ones back, change live links' latency.
  const churn = new LinkChurn(sim, rng);
  let loops = 0, bad = 0;
  for (let k = 0; k < s.churnRounds; k++) {
    churn.events(s.eventsPerRound);
    sim.step();
    const r = sim.checkLoops();
    loops += r.loops;
    bad += r.badNextHops;
  }
  churn.restoreAll();
  const reconv = sim.run(500);
  const after = sim.checkLoops();
  loops += after.loops;
  bad += after.badNextHops;
  const wallS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  ctx.log(`scale: ${s.nodes} nodes churn done, loops=${loops}, reconverged=${reconv.converged} in ${reconv.rounds} rounds, ${wallS.toFixed(1)} s`);
  return {
    converged: initial.converged && reconv.converged,
    loops: loops + bad,
    row: {
      label: `${s.nodes} nodes, ${s.providers} providers`,
      values: {
        nodes: s.nodes, links: topology.edges.length, providers: sim.origins.length, rounds: initial.rounds, updates: initial.updates,
        updatesPerNode: round(initial.updates / s.nodes), bytesPerNodeMean: Math.round(mem.meanBytes), bytesPerNodeMax: mem.maxBytes,
        heapPerNodeB: Math.round((heap1 - heap0) / s.nodes), churnRounds: s.churnRounds, churnLoops: loops, badNextHops: bad,
        reconvRounds: reconv.converged ? reconv.rounds : null, unroutedAfter: after.unrouted, cpuS: round(cpuS), wallS: round(wallS),
      },
    },
  };
}

export const scaleScenario: Scenario = {
  name: 'scale',
  title: 'Routing at scale: simulated Babel-style tables on 1k and 10k nodes (Barabási–Albert, degree ≈ 6)',
  run(ctx): Promise<ScenarioResult> {
    const started = performance.now();
    const sizes: Size[] = ctx.quick
      // Quick: 1k nodes only (10k takes ~45 s of CPU; the full run has it), to keep --quick under 3 minutes.
      ? [{ nodes: 1000, providers: 50, churnRounds: 20, eventsPerRound: 5 }]
      : [
        { nodes: 1000, providers: 100, churnRounds: 100, eventsPerRound: 5 },
        { nodes: 1000, providers: 300, churnRounds: 20, eventsPerRound: 5 },
        { nodes: 10_000, providers: 100, churnRounds: 30, eventsPerRound: 20 },
      ];
    const rows: ResultRow[] = [];
    const metrics: Record<string, number | null> = {};
    let allConverged = true;
    let totalLoops = 0;
    for (const s of sizes) {
      const r = runSize(s, ctx);
      rows.push(r.row);
      allConverged &&= r.converged;
      totalLoops += r.loops;
      const k = `N${s.nodes}P${s.providers}`;
      metrics[`rounds${k}`] = r.row.values['rounds'] as number;
      metrics[`updatesPerNode${k}`] = r.row.values['updatesPerNode'] as number | null;
      metrics[`bytesPerNode${k}`] = r.row.values['bytesPerNodeMean'] as number;
    }
    metrics['loopsUnderChurn'] = totalLoops;
    metrics['allConverged'] = allConverged ? 1 : 0;
    const notes = [
      'One round = one link delay (50 ms simulated); an update sent in round k is applied in round k+1. "updates" = route entries sent (one per provider per message), until a round sends and changes nothing.',
      'bytesPerNode = the table\'s own estimate (origins × 190 B + routes × 90 B + neighbours × 160 B + change log); heapPerNodeB = process heap growth while building and converging all tables ÷ nodes (includes the simulator\'s message buffers; gc() is only forced with --expose-gc, so it is rough).',
      'Churn: per round, a batch of random link events (40% a link fails, 30% a failed link returns, 30% a live link\'s latency changes to 1–41 ms); loops = next-hop cycles found by following every node\'s chain toward every provider after every round (must be 0); badNextHops = a next hop that is not a live neighbour (must be 0). unroutedAfter = (node, provider) pairs without a route after reconvergence (0 expected: all failed links are restored).',
      'cpuS is this process\'s CPU time for the case (wallS depends on what else the machine runs). Every provider on every node is the worst case for table size: 1k nodes × 1k providers converges too (9 M route updates) but needs ~1.7 GB of heap for the whole simulated network, so it is left out.',
      'No periodic refresh in these runs (refreshRounds 0): convergence is from triggered updates and seqno requests alone.',
      ...(ctx.quick ? ['Quick run: 1k nodes only, 50 providers, fewer churn rounds; the full run uses 100 and 300 providers on 1k nodes and 100 on 10k nodes, with longer churn.'] : []),
    ];
    return Promise.resolve({ name: 'scale', title: this.title, status: 'ok', durationMs: performance.now() - started, columns: COLUMNS, rows, metrics, notes });
  },
};
