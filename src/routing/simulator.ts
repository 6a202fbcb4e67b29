// Drives N RoutingTables over a topology with no sockets: synchronous rounds (one round =
// one link delay; every message sent in a round is delivered at the start of the next),
// with link failure/recovery, node leave/join, periodic origin refresh, seqno requests, and
// a loop check over every (node, origin) pair. Used by tests and by the benchmark.
// The parts: sim-topology.ts (graphs), simulation.ts (the engine), sim-scenario.ts (a bench run).

export { barabasiAlbert, lineTopology, randomGeometric, type Topology } from './sim-topology.ts';
export { Simulation, type LoopReport, type RunStats, type SimulationOptions, type StepStats } from './simulation.ts';
export { runScenario, type ScenarioOptions, type ScenarioReport } from './sim-scenario.ts';
export { LinkChurn, type SimLink } from './sim-churn.ts';
