// The routing simulator's engine: N RoutingTables driven in synchronous rounds with no
// sockets (one round = one link delay; every message sent in a round is delivered at the start
// of the next). Topologies are in sim-topology.ts; src/routing/simulator.ts re-exports both.
import { randInt, seededRng } from './rng.ts';
import type { SeqnoRequestMsg } from './routes-messages.ts';
import { forwardedRequest } from './routes-seqno.ts';
import { routesTiming } from './routes-timing.ts';
import type { Topology } from './sim-topology.ts';
import { RoutingTable, type RoutingTableOptions } from './table.ts';
import type { AdvertisedModel, PeerIdString, RouteUpdate } from './types.ts';

/** Hops a seqno request may travel, as in the routes protocol. */
const SEQNO_HOPS = routesTiming().seqnoRequestHops;

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
