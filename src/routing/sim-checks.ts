// Checks and counts over a converged Simulation for the per-capability bound (cap-bound.ts):
// does every node still reach its k best providers of each capability, does every route it
// holds lead to the origin (no dead end where a next hop dropped it), and what the tables and
// a full refresh cost per node.
import type { Simulation } from './simulator.ts';

export interface CoverageReport {
  /** (node, capability) pairs routing to fewer than min(k, live providers of it) providers. */
  readonly underCovered: number;
  readonly pairs: number;
  /** (node, origin) routes whose next-hop chain ends at a node without a route before the origin. */
  readonly deadEnds: number;
  readonly routes: number;
}

/** `capsOf(i)`: what origin i advertises. Assumes a connected topology. */
export function checkCoverage(sim: Simulation, k: number, capsOf: (i: number) => readonly string[]): CoverageReport {
  const providers = new Map<string, number[]>();
  for (const o of sim.origins) {
    if (!sim.isAlive(o)) continue;
    for (const c of capsOf(o)) { const l = providers.get(c) ?? []; l.push(o); providers.set(c, l); }
  }
  const index = new Map(sim.ids.map((id, i) => [id, i]));
  let underCovered = 0, pairs = 0, deadEnds = 0, routes = 0;
  for (let s = 0; s < sim.tables.length; s++) {
    if (!sim.isAlive(s)) continue;
    const t = sim.tables[s];
    if (t === undefined) continue;
    for (const [, list] of providers) {
      let reached = 0;
      for (const o of list) if (o === s || t.routeTo(sim.ids[o] ?? '', sim.now) !== undefined) reached++;
      pairs++;
      if (reached < Math.min(k, list.length)) underCovered++;
    }
    for (const o of sim.origins) {
      if (o === s || !sim.isAlive(o)) continue;
      const oid = sim.ids[o] ?? '';
      if (t.routeTo(oid, sim.now) === undefined) continue;
      routes++;
      let cur = s;
      for (let hops = 0; cur !== o && hops <= sim.tables.length; hops++) {
        const r = sim.tables[cur]?.routeTo(oid, sim.now);
        const next = r === undefined ? undefined : index.get(r.nextHop);
        if (next === undefined) { deadEnds++; break; }
        cur = next;
      }
    }
  }
  return { underCovered, pairs, deadEnds, routes };
}

export interface TableCost {
  /** Origins each table holds an entry for (mean, max over live nodes). */
  readonly entriesMean: number;
  readonly entriesMax: number;
  /** Route entries one full refresh sends per node (Σ over its neighbours), mean and max: the steady-state control traffic per refresh period. */
  readonly refreshEntriesMean: number;
  readonly refreshEntriesMax: number;
}

/** Table entries and the size of a full refresh per node. Call when converged (it advances each neighbour's cursor). */
export function tableCost(sim: Simulation): TableCost {
  const nbrs = sim.tables.map((): number[] => []);
  for (const [a, b] of sim.links()) { nbrs[a]?.push(b); nbrs[b]?.push(a); }
  let eSum = 0, eMax = 0, rSum = 0, rMax = 0, live = 0;
  sim.tables.forEach((t, i) => {
    if (!sim.isAlive(i)) return;
    live++;
    eSum += t.originCount; eMax = Math.max(eMax, t.originCount);
    let sent = 0;
    for (const j of nbrs[i] ?? []) sent += t.updatesFor(sim.ids[j] ?? '', true).length;
    rSum += sent; rMax = Math.max(rMax, sent);
  });
  return { entriesMean: live === 0 ? 0 : eSum / live, entriesMax: eMax, refreshEntriesMean: live === 0 ? 0 : rSum / live, refreshEntriesMax: rMax };
}

/** `pool` capability names; origin i advertises 3 of them, distinct, fixed by i. */
export function threeOf(pool: number): (i: number) => readonly string[] {
  return (i) => {
    const a = i % pool, b = (a + 1 + (Math.floor(i / pool) % (pool - 1))) % pool;
    let c = (b + 1) % pool;
    while (c === a || c === b) c = (c + 1) % pool;
    return [`cap-${a}`, `cap-${b}`, `cap-${c}`];
  };
}
