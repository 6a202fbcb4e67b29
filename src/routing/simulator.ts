// Drives N RoutingTables over a topology with no sockets: synchronous rounds (one round =
// one link delay; every message sent in a round is delivered at the start of the next),
// with link failure/recovery, node leave/join, periodic origin refresh, seqno requests, and
// a loop check over every (node, origin) pair. Used by tests and by the benchmark.

import { randInt, seededRng, type Rng } from './rng.ts';
import type { SeqnoRequestMsg } from './routes-messages.ts';
import { forwardedRequest } from './routes-seqno.ts';
import { routesTiming } from './routes-timing.ts';
import { RoutingTable, type RoutingTableOptions } from './table.ts';
import type { AdvertisedModel, PeerIdString, RouteUpdate } from './types.ts';

/** Hops a seqno request may travel, as in the routes protocol. */
const SEQNO_HOPS = routesTiming().seqnoRequestHops;

/** Undirected edges [a, b, one-way latency ms]. */
export interface Topology {
  readonly n: number;
  readonly edges: readonly (readonly [number, number, number])[];
}

export function lineTopology(n: number, latencyMs = 10): Topology {
  const edges: [number, number, number][] = [];
  for (let i = 0; i + 1 < n; i++) edges.push([i, i + 1, latencyMs]);
  return { n, edges };
}

/** Random points in a 2-D square; latency grows with distance (1..~50 ms). */
function positions(n: number, rng: Rng): Float64Array {
  const p = new Float64Array(2 * n);
  for (let i = 0; i < 2 * n; i++) p[i] = rng();
  return p;
}

function latency(p: Float64Array, a: number, b: number): number {
  const dx = (p[2 * a] ?? 0) - (p[2 * b] ?? 0);
  const dy = (p[2 * a + 1] ?? 0) - (p[2 * b + 1] ?? 0);
  return 1 + Math.round(35 * Math.hypot(dx, dy) * 10) / 10;
}

/** Barabási–Albert preferential attachment: each new node links to m existing ones (mean degree ≈ 2m); always connected. */
export function barabasiAlbert(n: number, m: number, rng: Rng): Topology {
  const p = positions(n, rng);
  const edges: [number, number, number][] = [];
  const ends: number[] = []; // every edge endpoint, so picking uniformly is picking by degree
  const seed = Math.min(n, m + 1);
  for (let a = 0; a < seed; a++) {
    for (let b = a + 1; b < seed; b++) { edges.push([a, b, latency(p, a, b)]); ends.push(a, b); }
  }
  for (let v = seed; v < n; v++) {
    const chosen = new Set<number>();
    while (chosen.size < Math.min(m, v)) chosen.add(ends[randInt(rng, ends.length)] ?? randInt(rng, v));
    for (const u of chosen) { edges.push([v, u, latency(p, v, u)]); ends.push(v, u); }
  }
  return { n, edges };
}

/** Random geometric graph with the radius chosen for the mean degree, stitched into one component. */
export function randomGeometric(n: number, degree: number, rng: Rng): Topology {
  const p = positions(n, rng);
  const r = Math.sqrt(degree / (Math.PI * n));
  const cells = Math.max(1, Math.floor(1 / r));
  const grid = new Map<number, number[]>();
  const cellOf = (i: number): [number, number] => [Math.min(cells - 1, Math.floor((p[2 * i] ?? 0) * cells)), Math.min(cells - 1, Math.floor((p[2 * i + 1] ?? 0) * cells))];
  for (let i = 0; i < n; i++) {
    const [cx, cy] = cellOf(i);
    const k = cx * cells + cy;
    const list = grid.get(k);
    if (list === undefined) grid.set(k, [i]); else list.push(i);
  }
  const edges: [number, number, number][] = [];
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => { while (parent[x] !== x) { const px = parent[x] ?? x; parent[x] = parent[px] ?? px; x = px; } return x; };
  for (let i = 0; i < n; i++) {
    const [cx, cy] = cellOf(i);
    for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) {
      for (const j of grid.get((cx + dx) * cells + (cy + dy)) ?? []) {
        if (j <= i || cx + dx < 0 || cy + dy < 0 || cx + dx >= cells || cy + dy >= cells) continue;
        if (Math.hypot((p[2 * i] ?? 0) - (p[2 * j] ?? 0), (p[2 * i + 1] ?? 0) - (p[2 * j + 1] ?? 0)) > r) continue;
        edges.push([i, j, latency(p, i, j)]);
        parent[find(i)] = find(j);
      }
    }
  }
  // Stitch each stray component to a random node of another (long links are realistic enough).
  for (let i = 1; i < n; i++) {
    if (find(i) !== find(0)) { const j = randInt(rng, i); if (find(j) === find(0)) { edges.push([i, j, latency(p, i, j)]); parent[find(i)] = find(0); } else { edges.push([i, 0, latency(p, i, 0)]); parent[find(i)] = find(0); } }
  }
  return { n, edges };
}

export interface SimulationOptions {
  readonly topology: Topology;
  /** Which nodes provide models: indices, or a count picked at random (default: all). */
  readonly origins?: readonly number[] | number;
  readonly seed?: number;
  /** Simulated ms per round (default 50). */
  readonly roundMs?: number;
  /** Origins re-issue adverts and nodes send full updates every this many rounds (0 = never; default 0). */
  readonly refreshRounds?: number;
  /** Send seqno requests when a route is lost with only infeasible ones left (default true). */
  readonly seqnoRequests?: boolean;
  readonly table?: RoutingTableOptions;
  /** Capabilities origin i advertises (its model is named after the first); default ['cap'] with a model of its own. */
  readonly capabilities?: (i: number) => readonly string[];
}

export interface StepStats {
  readonly updates: number;
  readonly changed: number;
}

export interface RunStats {
  readonly rounds: number;
  readonly updates: number;
  readonly converged: boolean;
}

export interface LoopReport {
  readonly loops: number;
  readonly routed: number;
  readonly unrouted: number;
  /** A next hop that is not a live neighbour (must be 0). */
  readonly badNextHops: number;
}

const MODEL = (i: number, caps?: readonly string[]): AdvertisedModel => ({
  name: caps === undefined ? `model-${i}` : `model-${caps[0] ?? i}`, version: '1', capabilities: caps === undefined ? ['cap'] : [...caps], provider: 'cpu', price: 1, computeMs: 5, load: 0, capacity: 8,
});

export class Simulation {
  readonly ids: readonly PeerIdString[];
  readonly tables: RoutingTable[];
  readonly origins: readonly number[];
  readonly #isOrigin: Set<number>;
  now = 0;
  round = 0;
  readonly #adj: Map<number, number>[];
  readonly #alive: Uint8Array;
  readonly #index = new Map<PeerIdString, number>();
  readonly #opts: SimulationOptions;
  #inbox: { from: number; to: number; updates: RouteUpdate[] }[] = [];
  #requests: (SeqnoRequestMsg & { from: number; to: number })[] = [];

  constructor(opts: SimulationOptions) {
    this.#opts = opts;
    const { n, edges } = opts.topology;
    const rng = seededRng(opts.seed ?? 1);
    this.ids = Array.from({ length: n }, (_, i) => `n${i}`);
    this.ids.forEach((id, i) => this.#index.set(id, i));
    this.#adj = Array.from({ length: n }, () => new Map<number, number>());
    this.#alive = new Uint8Array(n).fill(1);
    const o = opts.origins;
    if (o === undefined) this.origins = Array.from({ length: n }, (_, i) => i);
    else if (typeof o === 'number') {
      const set = new Set<number>();
      while (set.size < Math.min(o, n)) set.add(randInt(rng, n));
      this.origins = [...set].sort((a, b) => a - b);
    } else this.origins = o;
    this.#isOrigin = new Set(this.origins);
    this.tables = this.ids.map((id) => this.#newTable(id));
    for (const [a, b, l] of edges) this.linkUp(a, b, l);
  }

  #newTable(id: PeerIdString): RoutingTable {
    const t = new RoutingTable(id, { holdMs: 10_000, ...this.#opts.table });
    const i = this.#index.get(id) ?? -1;
    if (this.#isOrigin.has(i)) t.setLocalModels([MODEL(i, this.#opts.capabilities?.(i))], this.now);
    return t;
  }

  #table(i: number): RoutingTable {
    const t = this.tables[i];
    if (t === undefined) throw new RangeError(`no node ${i}`);
    return t;
  }

  linkUp(a: number, b: number, latencyMs: number): void {
    if (a === b || !this.#alive[a] || !this.#alive[b]) return;
    this.#adj[a]?.set(b, latencyMs);
    this.#adj[b]?.set(a, latencyMs);
    this.#table(a).neighbourUp(this.#id(b), 2 * latencyMs, this.now);
    this.#table(b).neighbourUp(this.#id(a), 2 * latencyMs, this.now);
  }

  linkDown(a: number, b: number): void {
    if (!this.#adj[a]?.delete(b)) return;
    this.#adj[b]?.delete(a);
    this.#table(a).neighbourDown(this.#id(b), this.now);
    this.#table(b).neighbourDown(this.#id(a), this.now);
  }

  /** Links currently up, as [a, b, latency] with a < b. */
  links(): [number, number, number][] {
    const out: [number, number, number][] = [];
    this.#adj.forEach((m, a) => { for (const [b, l] of m) if (a < b) out.push([a, b, l]); });
    return out;
  }

  /** A node leaves: its neighbours see every link drop. Returns its links, for rejoining. */
  leave(i: number): [number, number][] {
    const links = [...(this.#adj[i] ?? new Map<number, number>())];
    for (const [j] of links) this.linkDown(i, j);
    this.#alive[i] = 0;
    return links;
  }

  /** A node (re)joins with a fresh table; an origin re-advertises with a newer seq. */
  join(i: number, links: readonly (readonly [number, number])[]): void {
    this.#alive[i] = 1;
    this.tables[i] = this.#newTable(this.#id(i));
    for (const [j, l] of links) this.linkUp(i, j, l);
  }

  isAlive(i: number): boolean {
    return this.#alive[i] === 1;
  }

  #id(i: number): PeerIdString {
    return this.ids[i] ?? `n${i}`;
  }

  /** One round: deliver last round's messages, then every node sends its updates. */
  step(): StepStats {
    this.round++;
    this.now += this.#opts.roundMs ?? 50;
    let changed = 0;
    for (const m of this.#inbox) {
      if (!this.#alive[m.to] || !this.#adj[m.to]?.has(m.from)) continue; // lost with the link
      const t = this.#table(m.to);
      const from = this.#id(m.from);
      for (const u of m.updates) if (t.applyUpdate(from, u, this.now)) changed++;
    }
    this.#inbox = [];
    this.#deliverRequests();
    const refresh = this.#opts.refreshRounds ?? 0;
    const full = refresh > 0 && this.round % refresh === 0;
    let updates = 0;
    for (let i = 0; i < this.tables.length; i++) {
      if (!this.#alive[i]) continue;
      const t = this.#table(i);
      if (full) {
        if (this.#isOrigin.has(i)) t.refreshLocal(this.now);
        if (t.expire(this.now)) changed++;
      }
      for (const j of this.#adj[i]?.keys() ?? []) {
        const ups = t.updatesFor(this.#id(j), full);
        if (ups.length > 0) { this.#inbox.push({ from: i, to: j, updates: ups }); updates += ups.length; }
      }
      if (this.#opts.seqnoRequests ?? true) {
        for (const r of t.takeSeqnoRequests(this.now)) {
          const to = this.#index.get(r.to);
          if (to !== undefined) this.#requests.push({ from: i, to, origin: r.origin, seq: r.seq, hopsLeft: SEQNO_HOPS });
        }
      }
    }
    return { updates, changed };
  }

  #deliverRequests(): void {
    const pending = this.#requests;
    this.#requests = [];
    for (const r of pending) {
      if (!this.#alive[r.to] || !this.#adj[r.to]?.has(r.from)) continue;
      const action = this.#table(r.to).onSeqnoRequest(this.#id(r.from), r.origin, r.seq, this.now);
      // The same decision as the routes protocol core's (src/routing/routes-seqno.ts).
      const fwd = forwardedRequest(action, r);
      const next = fwd === undefined ? undefined : this.#index.get(fwd.to);
      if (fwd !== undefined && next !== undefined) this.#requests.push({ ...fwd.req, from: r.to, to: next });
    }
  }

  /** Step until a round sends nothing and changes nothing (or maxRounds). */
  run(maxRounds = 10_000): RunStats {
    let updates = 0;
    for (let k = 1; k <= maxRounds; k++) {
      const s = this.step();
      updates += s.updates;
      if (s.updates === 0 && s.changed === 0 && this.#inbox.length === 0 && this.#requests.length === 0) {
        return { rounds: k, updates, converged: true };
      }
    }
    return { rounds: maxRounds, updates, converged: false };
  }

  /** Follow next hops from every live node to every live origin; a cycle is a routing loop. */
  checkLoops(): LoopReport {
    const n = this.tables.length;
    const state = new Uint8Array(n); // 0 unseen, 1 on the current walk, 2 done
    let loops = 0, routed = 0, unrouted = 0, badNextHops = 0;
    const path: number[] = [];
    for (const o of this.origins) {
      if (!this.#alive[o]) continue;
      const oid = this.#id(o);
      state.fill(0);
      state[o] = 2;
      for (let s = 0; s < n; s++) {
        if (!this.#alive[s] || s === o) continue;
        if (this.#table(s).routeTo(oid, this.now) === undefined) unrouted++; else routed++;
        let cur = s;
        path.length = 0;
        for (;;) {
          if (state[cur] === 2) break;        // reaches the origin, a dead end, or a loop counted already
          if (state[cur] === 1) { loops++; break; }
          state[cur] = 1;
          path.push(cur);
          const r = this.#table(cur).routeTo(oid, this.now);
          if (r === undefined) break;
          const next = this.#index.get(r.nextHop);
          if (next === undefined || !this.#adj[cur]?.has(next)) { badNextHops++; break; }
          cur = next;
        }
        for (const v of path) state[v] = 2;
      }
    }
    return { loops, routed, unrouted, badNextHops };
  }

  /** Mean and max of the tables' estimated routing-state bytes over live nodes. */
  memory(): { meanBytes: number; maxBytes: number } {
    let sum = 0, max = 0, live = 0;
    this.tables.forEach((t, i) => {
      if (!this.#alive[i]) return;
      const b = t.memoryEstimateBytes();
      sum += b; live++; if (b > max) max = b;
    });
    return { meanBytes: live === 0 ? 0 : sum / live, maxBytes: max };
  }
}

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
