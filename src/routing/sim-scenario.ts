// One benchmark scenario for the routing simulator: build a topology, converge, fail links,
// reconverge, check loops and measure memory.
import { randInt, seededRng } from './rng.ts';
import { Simulation, type LoopReport, type RunStats } from './simulation.ts';
import { barabasiAlbert, randomGeometric } from './sim-topology.ts';

export interface ScenarioOptions {
  readonly nodes: number;
  readonly origins: number;
  readonly topology?: 'ba' | 'geometric';
  readonly degree?: number;
  readonly seed?: number;
  /** Link failures to inject after convergence, each followed by reconvergence. */
  readonly failures?: number;
}

export interface ScenarioReport {
  readonly nodes: number;
  readonly links: number;
  readonly origins: number;
  readonly initial: RunStats;
  readonly afterFailures: RunStats | undefined;
  readonly loops: LoopReport;
  readonly memory: { meanBytes: number; maxBytes: number };
  readonly heapUsedMB: number;
  readonly wallMs: number;
}

/** Build a topology, converge, optionally fail links, reconverge, check loops. For the benchmark. */
export function runScenario(o: ScenarioOptions): ScenarioReport {
  const started = performance.now();
  const rng = seededRng(o.seed ?? 7);
  const degree = o.degree ?? 6;
  const topology = o.topology === 'geometric' ? randomGeometric(o.nodes, degree, rng) : barabasiAlbert(o.nodes, Math.max(1, Math.round(degree / 2)), rng);
  const sim = new Simulation({ topology, origins: o.origins, seed: o.seed ?? 7 });
  const initial = sim.run();
  let afterFailures: RunStats | undefined;
  if ((o.failures ?? 0) > 0) {
    const links = sim.links();
    for (let k = 0; k < (o.failures ?? 0) && links.length > 0; k++) {
      const [a, b] = links.splice(randInt(rng, links.length), 1)[0] ?? [0, 0];
      sim.linkDown(a, b);
    }
    afterFailures = sim.run();
  }
  return {
    nodes: o.nodes, links: topology.edges.length, origins: sim.origins.length, initial, afterFailures,
    loops: sim.checkLoops(), memory: sim.memory(), heapUsedMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    wallMs: Math.round(performance.now() - started),
  };
}
