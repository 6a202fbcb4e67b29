// The routing table of one node: Babel-style (RFC 8966) distance-vector routing of provider
// adverts. Each origin (provider) is a Babel "source"; per origin we keep the routes heard
// from each neighbour and select the best FEASIBLE one. Feasibility distance FD = (seq,
// metric) of what we announced: an update is feasible iff its seq is newer, or the same seq
// with a strictly smaller metric. Every node's FD strictly decreases along next hops, so no
// loop can form, even mid-churn. Pure: no timers or sockets; `now` is passed in.
//
// This class is the table's API; its state and operations are in modules beside it:
// table-state.ts (options, entries, route metrics), table-select.ts (feasible selection),
// table-intake.ts (updates in, expiry), table-admit.ts (caps and eviction), table-updates.ts (what neighbours are sent),
// table-seqno.ts (seqno requests), table-log.ts (the change log).

import { Ewma } from './ewma.ts';
import type { RoutingPolicy } from './policies.ts';
import { PeerStats, selectRoutes } from './selection.ts';
import { applyUpdate, expire } from './table-intake.ts';
import { onSeqnoRequest, takeSeqnoRequests, type SeqnoAction, type SeqnoRequest } from './table-seqno.ts';
import { removeRoute, reselect } from './table-select.ts';
import { TableState, tableConfig, type RoutingTableOptions } from './table-state.ts';
import { hasPendingUpdates, updatesFor, views } from './table-updates.ts';
import type {
  AdvertisedModel, DownRole, PeerIdString, ProviderAdvert, QueryConstraints, RouteCandidate, RouteUpdate,
  RoutingTableApi, Selection,
} from './types.ts';

export type { RoutingTableOptions } from './table-state.ts';
export type { SeqnoAction, SeqnoRequest } from './table-seqno.ts';

/** Where this node sends traffic for an origin. */
export interface RouteInfo {
  readonly nextHop: PeerIdString;
  readonly metricMs: number;
  readonly hops: number;
  readonly seq: number;
}

export class RoutingTable implements RoutingTableApi {
  readonly self: PeerIdString;
  readonly #s: TableState;

  constructor(self: PeerIdString, options: RoutingTableOptions = {}) {
    this.self = self;
    this.#s = new TableState(self, tableConfig(self, options));
  }

  /** Called with each origin the table forgets (GC or eviction), so callers prune what they keep per origin. */
  get onOriginGone(): ((origin: PeerIdString) => void) | undefined {
    return this.#s.onOriginGone;
  }

  set onOriginGone(f: ((origin: PeerIdString) => void) | undefined) {
    this.#s.onOriginGone = f;
  }

  // ---- local adverts ----

  setLocalModels(models: readonly AdvertisedModel[], now: number): ProviderAdvert {
    return this.#s.setLocal(models, now);
  }

  /** Re-issue the local advert with a newer seq (periodic refresh; answers seqno requests). */
  refreshLocal(now: number): ProviderAdvert {
    return this.#s.setLocal(this.#s.localModels, now);
  }

  // ---- neighbours and links ----

  neighbourUp(peer: PeerIdString, rttMs: number, now: number): void {
    const existing = this.#s.neighbours.get(peer);
    if (existing !== undefined) {
      this.observeLink(peer, rttMs, now);
      existing.needsFull = true;
      return;
    }
    const cost = new Ewma({ tauMs: this.#s.cfg.linkTauMs });
    cost.observe(validRtt(rttMs) / 2, now);
    this.#s.neighbours.set(peer, { cost, cursor: this.#s.log.end(), needsFull: true, routes: 0 });
  }

  observeLink(peer: PeerIdString, rttMs: number, now: number): void {
    const n = this.#s.neighbours.get(peer);
    if (n === undefined) return;
    n.cost.observe(validRtt(rttMs) / 2, now);
    for (const e of this.#s.origins.values()) {
      if (e.routes.some((r) => r.neighbour === peer)) reselect(this.#s, e, now);
    }
  }

  neighbourDown(peer: PeerIdString, now: number): void {
    if (!this.#s.neighbours.delete(peer)) return;
    for (const e of this.#s.origins.values()) {
      const i = e.routes.findIndex((r) => r.neighbour === peer);
      if (i < 0) continue;
      removeRoute(this.#s, e, i, now);
      reselect(this.#s, e, now);
    }
  }

  /** One-way link cost to a neighbour, ms (undefined if not a neighbour). */
  linkCost(peer: PeerIdString, now: number): number | undefined {
    const n = this.#s.neighbours.get(peer);
    return n === undefined ? undefined : this.#s.cost(n, now);
  }

  // ---- updates in ----

  applyUpdate(from: PeerIdString, update: RouteUpdate, now: number): boolean {
    return applyUpdate(this.#s, from, update, now);
  }

  expire(now: number): boolean {
    return expire(this.#s, now);
  }

  // ---- updates out ----

  updatesFor(neighbour: PeerIdString, full: boolean): RouteUpdate[] {
    return updatesFor(this.#s, neighbour, full);
  }

  /** Whether incremental updates are waiting for any neighbour. */
  hasPendingUpdates(): boolean {
    return hasPendingUpdates(this.#s);
  }

  // ---- seqno requests (optional; periodic refresh recovers without them) ----

  /** Origins lost with only infeasible routes left: ask the neighbour with the best of them for a newer seq. */
  takeSeqnoRequests(now: number): SeqnoRequest[] {
    return takeSeqnoRequests(this.#s, now);
  }

  /** Handle a seqno request from a neighbour; the caller sends, forwards (bounded hops) or drops. */
  onSeqnoRequest(from: PeerIdString, origin: PeerIdString, seq: number, now: number): SeqnoAction {
    return onSeqnoRequest(this.#s, from, origin, seq, now);
  }

  // ---- selection and feedback ----

  select(modelOrCapability: string, constraints: QueryConstraints, now: number, policy?: RoutingPolicy): Selection {
    const s = this.#s;
    return selectRoutes(modelOrCapability, constraints, views(s, now), {
      now, policy: policy ?? s.cfg.policy, rng: s.cfg.rng, roundRobin: s.roundRobin, ...(s.cfg.trust === undefined ? {} : { trust: s.cfg.trust }),
      stats: (origin) => s.stats.get(origin),
      downUntil: (peer, role) => Math.max(s.down.get(peer) ?? -Infinity, role === 'provider' ? s.providerDown.get(peer) ?? -Infinity : -Infinity),
    });
  }

  /** A call to `candidate` was sent: counts as outstanding until its recordOutcome. */
  requestStarted(candidate: RouteCandidate): void {
    this.#statsFor(candidate.origin).outstanding++;
  }

  /** A call that was started ended without an outcome worth learning from (we cancelled it). */
  requestEnded(candidate: RouteCandidate): void {
    const st = this.#statsFor(candidate.origin);
    st.outstanding = Math.max(0, st.outstanding - 1);
  }

  recordOutcome(candidate: RouteCandidate, outcome: { readonly ok: boolean; readonly latencyMs: number }, now: number): void {
    this.#statsFor(candidate.origin).record(outcome.ok, outcome.latencyMs, now);
  }

  /**
   * Whether a provider of the name lost its route within the hold time without withdrawing
   * it: neighbours may still offer infeasible routes (a newer seq makes one usable shortly)
   * or a new neighbour may offer one. The name is not unknown, only unreachable for now.
   */
  converging(modelOrCapability: string): boolean {
    for (const e of this.#s.origins.values()) {
      // Entries without any route are forgotten a hold time after they lost the last one.
      if (e.selected !== undefined) continue;
      if (e.latest.models.some((m) => m.name === modelOrCapability || m.capabilities.includes(modelOrCapability))) return true;
    }
    return false;
  }

  /** Reselect the route to an origin now (a measured path floor changed); returns whether the selection changed. */
  reconsider(origin: PeerIdString, now: number): boolean {
    const e = this.#s.origins.get(origin);
    return e === undefined ? false : reselect(this.#s, e, now);
  }

  markDown(peer: PeerIdString, until: number, role: DownRole = 'peer'): void {
    const marks = role === 'peer' ? this.#s.down : this.#s.providerDown;
    marks.set(peer, Math.max(until, marks.get(peer) ?? -Infinity));
  }

  snapshot(now: number): readonly RouteCandidate[] {
    const out: RouteCandidate[] = [];
    for (const v of views(this.#s, now)) {
      const stats = this.#s.stats.get(v.origin);
      for (const m of v.advert.models) out.push(PeerStats.candidate(v, m, stats, now));
    }
    return out;
  }

  adverts(): readonly ProviderAdvert[] {
    const out: ProviderAdvert[] = [];
    if (this.#s.local !== undefined) out.push(this.#s.local);
    for (const e of this.#s.origins.values()) if (e.selected !== undefined) out.push(e.latest);
    return out;
  }

  /** The selected route to an origin, if reachable (the simulator's loop check follows these). */
  routeTo(origin: PeerIdString, now: number): RouteInfo | undefined {
    const e = this.#s.origins.get(origin);
    if (e?.selected === undefined) return undefined;
    const r = e.selected;
    return { nextHop: r.neighbour, metricMs: this.#s.total(r, now), hops: r.hops + 1, seq: r.advert.seq };
  }

  /** Rough heap bytes of this table's routing state (origins, routes, neighbours, change log). */
  memoryEstimateBytes(): number {
    const s = this.#s;
    return 200 + s.origins.size * 190 + s.routeCount * 90 + s.neighbours.size * 160 + s.log.length * 8;
  }

  get originCount(): number {
    return this.#s.origins.size;
  }

  /**
   * Peers in use: providers (origins advertising models) with a selected route and the next hops
   * of those routes. Their connections are never evicted and may take reserved slots; a peer
   * that only advertises itself, with nothing to offer, is not in use.
   */
  peersInUse(): Set<PeerIdString> {
    const out = new Set<PeerIdString>();
    for (const e of this.#s.origins.values()) {
      if (e.selected === undefined || e.latest.models.length === 0) continue;
      out.add(e.origin);
      out.add(e.selected.neighbour);
    }
    return out;
  }

  /**
   * What the table tells about each neighbour's links (for trimming a crowded mesh,
   * src/node/p2p/degree-policy.ts): `direct`, how many origins it offers us at one hop (its
   * own neighbours, a lower bound: those it reaches through us are poisoned); `detour`, whether
   * another neighbour offers us that neighbour at one hop (a path to it without our link).
   */
  neighbourLinks(now: number): Map<PeerIdString, { direct: number; detour: boolean }> {
    const out = new Map<PeerIdString, { direct: number; detour: boolean }>();
    for (const p of this.#s.neighbours.keys()) out.set(p, { direct: 0, detour: false });
    for (const e of this.#s.origins.values()) {
      for (const r of e.routes) {
        if (r.hops !== 1 || r.expiresAt <= now || !Number.isFinite(r.metricMs)) continue;
        const n = out.get(r.neighbour);
        if (n !== undefined) n.direct++;
        const o = r.neighbour === e.origin ? undefined : out.get(e.origin);
        if (o !== undefined) o.detour = true;
      }
    }
    return out;
  }

  /** Whether a change since the last call should go out at once (a new next hop or seq, lost reachability, a large metric change); clears it. */
  takeUrgentChange(): boolean {
    const u = this.#s.urgentChange;
    this.#s.urgentChange = false;
    return u;
  }

  /** Whether the table has an entry for the origin (routed, infeasible only, or waiting to be forgotten). */
  knows(origin: PeerIdString): boolean {
    return this.#s.origins.has(origin);
  }

  /** Sizes of the table's per-origin and per-peer state (for bounds checks and tests). */
  stateSizes(): { origins: number; liveOrigins: number; routes: number; stats: number; seqnoWanted: number; down: number } {
    const s = this.#s;
    return { origins: s.origins.size, liveOrigins: s.liveOrigins, routes: s.routeCount, stats: s.stats.size, seqnoWanted: s.seqnoWanted.size, down: s.down.size + s.providerDown.size };
  }

  #statsFor(origin: PeerIdString): PeerStats {
    let st = this.#s.stats.get(origin);
    if (st === undefined) { st = new PeerStats(); this.#s.stats.set(origin, st); }
    return st;
  }
}

export function createRoutingTable(self: PeerIdString, options?: RoutingTableOptions): RoutingTable {
  return new RoutingTable(self, options);
}

function validRtt(rttMs: number): number {
  return Number.isFinite(rttMs) && rttMs >= 0 ? rttMs : 0;
}
