// The routing table of one node: Babel-style (RFC 8966) distance-vector routing of provider
// adverts. Each origin (provider) is a Babel "source"; per origin we keep the routes heard
// from each neighbour and select the best FEASIBLE one. Feasibility distance FD = (seq,
// metric) of what we announced: an update is feasible iff its seq is newer, or the same seq
// with a strictly smaller metric. Every node's FD strictly decreases along next hops, so no
// loop can form, even mid-churn. Pure: no timers or sockets; `now` is passed in.

import { ProtocolError } from '../errors.ts';
import { Ewma } from './ewma.ts';
import type { RoutingPolicy } from './policies.ts';
import { seededRng, type Rng } from './rng.ts';
import { PeerStats, selectRoutes, type OriginView, type TrustHook } from './selection.ts';
import { pickEviction, type EvictionCandidate } from './table-caps.ts';
import { advertKeys, CapabilityTopK } from './cap-bound.ts';
import type {
  AdvertisedModel, PeerIdString, ProviderAdvert, QueryConstraints, RouteCandidate, RouteUpdate,
  RoutingTableApi, Selection,
} from './types.ts';

export interface RoutingTableOptions {
  /** Routes not refreshed within this expire (default 90 s = 3 × a 30 s refresh). */
  readonly holdMs?: number;
  /** Routes longer than this many hops are dropped (default 16). */
  readonly hopLimit?: number;
  /** Time constant of the link-latency EWMA (default 10 s). */
  readonly linkTauMs?: number;
  /** Floor of a link's cost, ms: metrics must strictly grow per hop for loop freedom. */
  readonly minLinkCostMs?: number;
  /**
   * Work each hop adds beyond the wire, ms (default 1): decoding, routing and re-encoding a
   * forwarded query (the bench measures 1.6-5 ms per hop on 2 cores). Ping RTT cannot see it,
   * so without it a relayed route looks as short as a direct one on a LAN.
   */
  readonly hopCostMs?: number;
  /** A metric change smaller than this fraction (and than 1 ms) is not worth a triggered update; periodic full updates carry it. */
  readonly significantChange?: number;
  /** A better route replaces the selected one only if shorter by more than this, ms (no flapping on jitter). */
  readonly switchMarginMs?: number;
  /** Default selection policy (see policies.ts). */
  readonly policy?: RoutingPolicy;
  /** RNG for power-of-two-choices and the random policy; seed it in tests. */
  readonly rng?: Rng;
  /** Measured claims and quarantines (src/routing/reputation.ts) applied at selection. */
  readonly trust?: TrustHook;
  /** Origins (with at least one route) the table holds at most (default unbounded; see admitOrigin for the eviction rule). */
  readonly maxOrigins?: number;
  /** Origins one neighbour may hold routes for (default unbounded); more from it are ignored. */
  readonly maxOriginsPerNeighbour?: number;
  /** Advertise onward only the k best origins per model name or capability (cap-bound.ts; default unbounded). */
  readonly maxOriginsPerCapability?: number;
}

/** A seqno request unanswered after this long is sent again, backing off to SEQNO_RETRY_MAX_MS. */
const SEQNO_RETRY_MS = 500;
const SEQNO_RETRY_MAX_MS = 16_000;

/** A route heard from one neighbour; mutated in place on refresh to keep 10k tables compact. */
interface HeardRoute {
  readonly neighbour: PeerIdString;
  advert: ProviderAdvert;
  /** The neighbour's metric and hops to the origin (ours adds the link). */
  metricMs: number;
  hops: number;
  expiresAt: number;
}

interface OriginEntry {
  readonly origin: PeerIdString;
  routes: HeardRoute[];
  selected: HeardRoute | undefined;
  /** Metric last marked for announcement (to tell significant changes). */
  announcedMetric: number;
  announcedSeq: number;
  fdSeq: number;
  fdMetric: number;
  /** Highest-seq advert seen for this origin. */
  latest: ProviderAdvert;
  /** Position in the change log of this origin's latest entry. */
  logPos: number;
  /**
   * While the entry is in the table's seqno-wanted set (no feasible route, infeasible ones
   * remain, a newer seq is needed): when to (re)send the seqno request, and how many were sent.
   * A request or its answer can be lost, so it is repeated with backoff.
   */
  seqnoAt: number;
  seqnoTries: number;
  /** When the entry last had no route at all (for garbage collection), or -1. */
  idleSince: number;
  /** When the entry was created (newest unused origins are evicted first). */
  readonly addedAt: number;
}

interface Neighbour {
  readonly cost: Ewma;
  /** Change-log position up to which this neighbour has been sent updates. */
  cursor: number;
  needsFull: boolean;
  /** Origins this neighbour holds a route for in the table. */
  routes: number;
}

/** A seqno request (RFC 8966 §3.8.1) to send: ask `to` for a newer seq of `origin`. */
export interface SeqnoRequest {
  readonly origin: PeerIdString;
  readonly seq: number;
  readonly to: PeerIdString;
}

export type SeqnoAction =
  | { readonly kind: 'bumped' }            // we are the origin and issued a newer seq: flush updates
  | { readonly kind: 'answered' }          // we have the seq: our next updates carry it
  | { readonly kind: 'forward'; readonly to: PeerIdString }
  | { readonly kind: 'drop' };

/** Where this node sends traffic for an origin. */
export interface RouteInfo {
  readonly nextHop: PeerIdString;
  readonly metricMs: number;
  readonly hops: number;
  readonly seq: number;
}

export class RoutingTable implements RoutingTableApi {
  readonly self: PeerIdString;
  readonly #holdMs: number;
  readonly #hopLimit: number;
  readonly #linkTauMs: number;
  readonly #minLinkCost: number;
  readonly #hopCost: number;
  readonly #significant: number;
  readonly #switchMargin: number;
  /** Origins waiting for a newer seq (see OriginEntry.seqnoAt): small, so polling it is cheap. */
  readonly #seqnoWanted = new Set<OriginEntry>();
  readonly #policy: RoutingPolicy;
  readonly #rng: Rng;
  readonly #trust: TrustHook | undefined;
  readonly #origins = new Map<PeerIdString, OriginEntry>();
  readonly #neighbours = new Map<PeerIdString, Neighbour>();
  readonly #stats = new Map<PeerIdString, PeerStats>();
  readonly #down = new Map<PeerIdString, number>();
  readonly #roundRobin = new Map<string, number>();
  #local: ProviderAdvert | undefined;
  #localModels: readonly AdvertisedModel[] = [];
  #localLogPos = -1;
  /** Origins in order of change; neighbours keep cursors into it for incremental updates. */
  #log: PeerIdString[] = [];
  #logBase = 0;
  #earliestExpiry = Infinity;
  #nextCollect = Infinity;
  #routeCount = 0;
  /** Origins with at least one route (what maxOrigins bounds). */
  #liveOrigins = 0;
  readonly #maxOrigins: number;
  readonly #maxPerNeighbour: number;
  readonly #capBound: CapabilityTopK | undefined;
  /** Called with each origin the table forgets (GC or eviction), so callers prune what they keep per origin. */
  onOriginGone: ((origin: PeerIdString) => void) | undefined;

  constructor(self: PeerIdString, options: RoutingTableOptions = {}) {
    this.self = self;
    this.#holdMs = options.holdMs ?? 90_000;
    this.#hopLimit = options.hopLimit ?? 16;
    this.#linkTauMs = options.linkTauMs ?? 10_000;
    this.#minLinkCost = options.minLinkCostMs ?? 0.05;
    this.#hopCost = options.hopCostMs ?? 1;
    this.#significant = options.significantChange ?? 0.1;
    this.#switchMargin = options.switchMarginMs ?? 0.5;
    this.#policy = options.policy ?? 'plexus';
    this.#rng = options.rng ?? seededRng(0x9e3779b9 ^ hashString(self));
    this.#trust = options.trust;
    this.#maxOrigins = options.maxOrigins ?? Infinity;
    this.#maxPerNeighbour = options.maxOriginsPerNeighbour ?? Infinity;
    this.#capBound = options.maxOriginsPerCapability === undefined ? undefined : new CapabilityTopK(options.maxOriginsPerCapability);
  }

  // ---- local adverts ----

  setLocalModels(models: readonly AdvertisedModel[], now: number): ProviderAdvert {
    // seq = max(prev + 1, now): stays monotonic across restarts without persisted state.
    const seq = Math.max((this.#local?.seq ?? 0) + 1, Math.floor(now));
    this.#localModels = models;
    this.#local = { origin: this.self, seq, models, issuedAt: now };
    this.#localLogPos = this.#logPush(this.self);
    return this.#local;
  }

  /** Re-issue the local advert with a newer seq (periodic refresh; answers seqno requests). */
  refreshLocal(now: number): ProviderAdvert {
    return this.setLocalModels(this.#localModels, now);
  }

  // ---- neighbours and links ----

  neighbourUp(peer: PeerIdString, rttMs: number, now: number): void {
    const existing = this.#neighbours.get(peer);
    if (existing !== undefined) {
      this.observeLink(peer, rttMs, now);
      existing.needsFull = true;
      return;
    }
    const cost = new Ewma({ tauMs: this.#linkTauMs });
    cost.observe(validRtt(rttMs) / 2, now);
    this.#neighbours.set(peer, { cost, cursor: this.#logEnd(), needsFull: true, routes: 0 });
  }

  observeLink(peer: PeerIdString, rttMs: number, now: number): void {
    const n = this.#neighbours.get(peer);
    if (n === undefined) return;
    n.cost.observe(validRtt(rttMs) / 2, now);
    for (const e of this.#origins.values()) {
      if (e.routes.some((r) => r.neighbour === peer)) this.#reselect(e, now);
    }
  }

  neighbourDown(peer: PeerIdString, now: number): void {
    if (!this.#neighbours.delete(peer)) return;
    for (const e of this.#origins.values()) {
      const i = e.routes.findIndex((r) => r.neighbour === peer);
      if (i < 0) continue;
      this.#removeRoute(e, i, now);
      this.#reselect(e, now);
    }
  }

  /** One-way link cost to a neighbour, ms (undefined if not a neighbour). */
  linkCost(peer: PeerIdString, now: number): number | undefined {
    const n = this.#neighbours.get(peer);
    return n === undefined ? undefined : this.#cost(n, now);
  }

  // ---- updates in ----

  applyUpdate(from: PeerIdString, update: RouteUpdate, now: number): boolean {
    if (!this.#neighbours.has(from)) return false; // only neighbours (neighbourUp first) may speak
    validateUpdate(from, update);
    const advert = update.advert;
    if (advert.origin === this.self) return false;
    const unreachable = update.retracted || update.metricMs === Infinity || update.hops + 1 > this.#hopLimit;
    let e = this.#origins.get(advert.origin);
    const i = e === undefined ? -1 : e.routes.findIndex((r) => r.neighbour === from);
    if (!unreachable && i < 0 && !this.#admit(from, advert.origin, e, now)) return false;
    if (e === undefined) {
      if (unreachable) return false;
      e = {
        origin: advert.origin, routes: [], selected: undefined, announcedMetric: Infinity, announcedSeq: -Infinity,
        fdSeq: -Infinity, fdMetric: Infinity, latest: advert, logPos: -1, seqnoAt: 0, seqnoTries: 0, idleSince: now, addedAt: now,
      };
      this.#origins.set(advert.origin, e);
    }
    if (advert.seq > e.latest.seq) e.latest = advert;
    if (unreachable) {
      if (i < 0) return false;
      this.#removeRoute(e, i, now);
      return this.#reselect(e, now);
    }
    const expiresAt = now + this.#holdMs;
    const r = e.routes[i];
    if (r === undefined) {
      if (e.routes.length === 0) this.#liveOrigins++;
      e.routes.push({ neighbour: from, advert, metricMs: update.metricMs, hops: update.hops, expiresAt });
      e.idleSince = -1;
      this.#routeCount++;
      const n = this.#neighbours.get(from);
      if (n !== undefined) n.routes++;
      if (expiresAt < this.#earliestExpiry) this.#earliestExpiry = expiresAt;
    } else {
      const same = r.advert.seq === advert.seq && r.metricMs === update.metricMs && r.hops === update.hops;
      r.expiresAt = expiresAt;
      if (same) return false; // a refresh
      r.advert = advert;
      r.metricMs = update.metricMs;
      r.hops = update.hops;
    }
    return this.#reselect(e, now);
  }

  expire(now: number): boolean {
    for (const [peer, until] of this.#down) if (until <= now) this.#down.delete(peer);
    if (now < this.#earliestExpiry && now < this.#nextCollect) return false;
    let changed = false;
    let earliest = Infinity;
    this.#nextCollect = Infinity;
    for (const e of this.#origins.values()) {
      let removed = false;
      for (let i = e.routes.length - 1; i >= 0; i--) {
        const r = e.routes[i];
        if (r === undefined) continue;
        if (r.expiresAt <= now) {
          this.#removeRoute(e, i, now);
          removed = true;
        } else if (r.expiresAt < earliest) {
          earliest = r.expiresAt;
        }
      }
      if (removed && this.#reselect(e, now)) changed = true;
      if (e.routes.length === 0 && e.selected === undefined) {
        // Forget an origin with no route for a hold time: its retraction has long gone out.
        if (now - e.idleSince >= this.#holdMs) this.#forget(e);
        else this.#nextCollect = Math.min(this.#nextCollect, e.idleSince + this.#holdMs);
      }
    }
    this.#earliestExpiry = earliest;
    return changed;
  }

  // ---- updates out ----

  updatesFor(neighbour: PeerIdString, full: boolean): RouteUpdate[] {
    const n = this.#neighbours.get(neighbour);
    if (n === undefined) return [];
    const out: RouteUpdate[] = [];
    const end = this.#logEnd();
    if (full || n.needsFull || n.cursor < this.#logBase) {
      if (this.#local !== undefined) out.push(this.#localUpdate());
      // Origins outside the per-capability bound were retracted when they left it; a full dump leaves them out.
      for (const e of this.#origins.values()) if (this.#capBound?.advertised(e.origin) !== false) out.push(this.#updateFor(e, neighbour));
      n.needsFull = false;
    } else {
      for (let pos = n.cursor; pos < end; pos++) {
        const origin = this.#log[pos - this.#logBase];
        if (origin === undefined) continue;
        if (origin === this.self) {
          if (pos === this.#localLogPos && this.#local !== undefined) out.push(this.#localUpdate());
          continue;
        }
        const e = this.#origins.get(origin);
        if (e !== undefined && e.logPos === pos) out.push(this.#updateFor(e, neighbour));
      }
    }
    n.cursor = end;
    this.#trimLog();
    return out;
  }

  /** Whether incremental updates are waiting for any neighbour. */
  hasPendingUpdates(): boolean {
    const end = this.#logEnd();
    for (const n of this.#neighbours.values()) if (n.needsFull || n.cursor < end) return true;
    return false;
  }

  // ---- seqno requests (optional; periodic refresh recovers without them) ----

  /** Origins lost with only infeasible routes left: ask the neighbour with the best of them for a newer seq. */
  takeSeqnoRequests(now: number): SeqnoRequest[] {
    const out: SeqnoRequest[] = [];
    for (const e of this.#seqnoWanted) {
      if (e.selected !== undefined || e.routes.length === 0 || this.#origins.get(e.origin) !== e) {
        this.#seqnoWanted.delete(e);
        continue;
      }
      if (now < e.seqnoAt) continue;
      e.seqnoAt = now + Math.min(SEQNO_RETRY_MAX_MS, SEQNO_RETRY_MS * 2 ** e.seqnoTries);
      e.seqnoTries++;
      let best: HeardRoute | undefined;
      let bestM = Infinity;
      // Ask a neighbour whose route we would take, not one measured lying about its metric.
      const lying = this.#lying(e, now);
      for (const r of e.routes) {
        if (lying.includes(r)) continue;
        const m = this.#total(r, now);
        if (m < bestM) { best = r; bestM = m; }
      }
      if (best !== undefined) out.push({ origin: e.origin, seq: e.fdSeq + 1, to: best.neighbour });
    }
    return out;
  }

  /** Handle a seqno request from a neighbour; the caller sends, forwards (bounded hops) or drops. */
  onSeqnoRequest(from: PeerIdString, origin: PeerIdString, seq: number, now: number): SeqnoAction {
    if (origin === this.self) {
      if (this.#local === undefined) return { kind: 'drop' };
      if (this.#local.seq < seq) this.refreshLocal(Math.max(now, seq));
      else this.#localLogPos = this.#logPush(this.self);
      return { kind: 'bumped' };
    }
    const e = this.#origins.get(origin);
    if (e?.selected === undefined) return { kind: 'drop' };
    if (e.selected.advert.seq >= seq) {
      e.logPos = this.#logPush(e.origin);
      return { kind: 'answered' };
    }
    if (e.selected.neighbour === from) return { kind: 'drop' };
    return { kind: 'forward', to: e.selected.neighbour };
  }

  // ---- selection and feedback ----

  select(modelOrCapability: string, constraints: QueryConstraints, now: number, policy?: RoutingPolicy): Selection {
    return selectRoutes(modelOrCapability, constraints, this.#views(now), {
      now, policy: policy ?? this.#policy, rng: this.#rng, roundRobin: this.#roundRobin, ...(this.#trust === undefined ? {} : { trust: this.#trust }),
      stats: (origin) => this.#stats.get(origin), downUntil: (origin) => this.#down.get(origin),
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
    for (const e of this.#origins.values()) {
      // Entries without any route are forgotten a hold time after they lost the last one.
      if (e.selected !== undefined) continue;
      if (e.latest.models.some((m) => m.name === modelOrCapability || m.capabilities.includes(modelOrCapability))) return true;
    }
    return false;
  }

  /** Reselect the route to an origin now (a measured path floor changed); returns whether the selection changed. */
  reconsider(origin: PeerIdString, now: number): boolean {
    const e = this.#origins.get(origin);
    return e === undefined ? false : this.#reselect(e, now);
  }

  markDown(peer: PeerIdString, until: number): void {
    this.#down.set(peer, Math.max(until, this.#down.get(peer) ?? -Infinity));
  }

  snapshot(now: number): readonly RouteCandidate[] {
    const out: RouteCandidate[] = [];
    for (const v of this.#views(now)) {
      const stats = this.#stats.get(v.origin);
      for (const m of v.advert.models) out.push(PeerStats.candidate(v, m, stats, now));
    }
    return out;
  }

  adverts(): readonly ProviderAdvert[] {
    const out: ProviderAdvert[] = [];
    if (this.#local !== undefined) out.push(this.#local);
    for (const e of this.#origins.values()) if (e.selected !== undefined) out.push(e.latest);
    return out;
  }

  /** The selected route to an origin, if reachable (the simulator's loop check follows these). */
  routeTo(origin: PeerIdString, now: number): RouteInfo | undefined {
    const e = this.#origins.get(origin);
    if (e?.selected === undefined) return undefined;
    const r = e.selected;
    return { nextHop: r.neighbour, metricMs: this.#total(r, now), hops: r.hops + 1, seq: r.advert.seq };
  }

  /** Rough heap bytes of this table's routing state (origins, routes, neighbours, change log). */
  memoryEstimateBytes(): number {
    return 200 + this.#origins.size * 190 + this.#routeCount * 90 + this.#neighbours.size * 160 + this.#log.length * 8;
  }

  get originCount(): number {
    return this.#origins.size;
  }

  /**
   * Peers in use: providers (origins advertising models) with a selected route and the next hops
   * of those routes. Their connections are never evicted and may take reserved slots; a peer
   * that only advertises itself, with nothing to offer, is not in use.
   */
  peersInUse(): Set<PeerIdString> {
    const out = new Set<PeerIdString>();
    for (const e of this.#origins.values()) {
      if (e.selected === undefined || e.latest.models.length === 0) continue;
      out.add(e.origin);
      out.add(e.selected.neighbour);
    }
    return out;
  }

  /** Whether the table has an entry for the origin (routed, infeasible only, or waiting to be forgotten). */
  knows(origin: PeerIdString): boolean {
    return this.#origins.has(origin);
  }

  /** Sizes of the table's per-origin and per-peer state (for bounds checks and tests). */
  stateSizes(): { origins: number; liveOrigins: number; routes: number; stats: number; seqnoWanted: number; down: number } {
    return { origins: this.#origins.size, liveOrigins: this.#liveOrigins, routes: this.#routeCount, stats: this.#stats.size, seqnoWanted: this.#seqnoWanted.size, down: this.#down.size };
  }

  // ---- internals ----

  #cost(n: Neighbour, now: number): number {
    return this.#hopCost + Math.max(this.#minLinkCost, n.cost.get(now) ?? this.#minLinkCost);
  }

  /**
   * How many times its advertised metric a relayed route measured (src/routing/reputation.ts),
   * when clearly worse than advertised; undefined when not.
   */
  #understated(r: HeardRoute, now: number): number | undefined {
    const n = this.#neighbours.get(r.neighbour);
    if (n === undefined || r.neighbour === r.advert.origin || this.#trust?.pathFloor === undefined) return undefined;
    const advertised = r.metricMs + this.#cost(n, now);
    const floor = this.#trust.pathFloor(r.advert.origin, r.neighbour, now, advertised);
    return floor === undefined ? undefined : floor / advertised;
  }

  /**
   * The routes that lose the origin for being measured clearly worse than they advertise. When
   * every route is (on a loaded machine every measured path exceeds its advert), the one whose
   * measurement is the least multiple of its advert keeps it: load inflates honest paths in
   * proportion, a forged metric is off by far more.
   */
  #lying(e: OriginEntry, now: number): HeardRoute[] {
    if (e.routes.length < 2) return [];
    const off = e.routes.map((r) => ({ r, x: this.#understated(r, now) }));
    const lying = off.filter((o) => o.x !== undefined);
    if (lying.length < e.routes.length) return lying.map((o) => o.r);
    let least = lying[0];
    for (const o of lying) if ((o.x ?? Infinity) < (least?.x ?? Infinity)) least = o;
    return lying.filter((o) => o !== least).map((o) => o.r);
  }

  #total(r: HeardRoute, now: number): number {
    const n = this.#neighbours.get(r.neighbour);
    if (n === undefined) return Infinity;
    const advertised = r.metricMs + this.#cost(n, now);
    // A relay's metric cannot be lower than what this node measured through it (issue 9).
    const floor = r.neighbour !== r.advert.origin ? this.#trust?.pathFloor?.(r.advert.origin, r.neighbour, now, advertised) : undefined;
    return floor === undefined ? advertised : Math.max(advertised, floor);
  }

  /** RFC 8966 §3.5.1: the neighbour's advertised metric (before our link cost) must beat our FD. */
  #feasible(e: OriginEntry, seq: number, metric: number): boolean {
    return seq > e.fdSeq || (seq === e.fdSeq && metric < e.fdMetric);
  }

  #lowerFd(e: OriginEntry, seq: number, metric: number): void {
    if (seq > e.fdSeq) { e.fdSeq = seq; e.fdMetric = metric; } else if (seq === e.fdSeq && metric < e.fdMetric) e.fdMetric = metric;
  }

  /** Pick the best feasible route; mark the origin for a triggered update if that changed meaningfully. */
  #reselect(e: OriginEntry, now: number): boolean {
    const cur = e.selected;
    let best: HeardRoute | undefined;
    let bestM = Infinity;
    let curM = Infinity;
    // A relay measured much slower than it advertises loses the route while another neighbour
    // offers one (if that one is infeasible, a seqno request follows, as after a retraction).
    const lying = this.#lying(e, now);
    for (const r of e.routes) {
      if (lying.includes(r)) continue;
      const m = this.#total(r, now);
      // Keeping the current next hop is safe even if its metric grew: its FD is below ours.
      const ok = r === cur ? r.advert.seq >= e.fdSeq && m < Infinity : this.#feasible(e, r.advert.seq, r.metricMs);
      if (!ok) continue;
      if (r === cur) curM = m;
      if (m < bestM) { best = r; bestM = m; }
    }
    if (curM < Infinity && best !== cur && bestM > curM - this.#switchMargin) { best = cur; bestM = curM; }
    e.selected = best;
    if (best === undefined) {
      if (e.routes.length > 0 && !this.#seqnoWanted.has(e)) {
        e.seqnoAt = now;
        e.seqnoTries = 0;
        this.#seqnoWanted.add(e);
      }
      if (cur === undefined) return false;
      e.announcedMetric = Infinity;
      e.logPos = this.#logPush(e.origin);
      this.#bound(e);
      return true;
    }
    this.#seqnoWanted.delete(e);
    this.#lowerFd(e, best.advert.seq, bestM);
    const delta = Math.abs(bestM - e.announcedMetric);
    const significant = delta > Math.max(1, this.#significant * e.announcedMetric) || !Number.isFinite(e.announcedMetric);
    if (best === cur && best.advert.seq === e.announcedSeq && !significant) return false;
    e.announcedMetric = bestM;
    e.announcedSeq = best.advert.seq;
    e.logPos = this.#logPush(e.origin);
    this.#bound(e);
    return true;
  }

  /** maxOriginsPerCapability: origins that entered or left the advertised set go out as changes. */
  #bound(e: OriginEntry): void {
    if (this.#capBound === undefined) return;
    const metric = e.selected === undefined ? Infinity : e.announcedMetric;
    for (const o of this.#capBound.update(e.origin, advertKeys(e.latest.models), metric)) {
      const f = this.#origins.get(o);
      if (f !== undefined && f !== e) f.logPos = this.#logPush(o);
    }
  }

  #removeRoute(e: OriginEntry, i: number, now: number): void {
    const [r] = e.routes.splice(i, 1);
    this.#routeCount--;
    const n = r === undefined ? undefined : this.#neighbours.get(r.neighbour);
    if (n !== undefined) n.routes--;
    if (e.routes.length === 0) {
      this.#liveOrigins--;
      e.idleSince = now;
      this.#nextCollect = Math.min(this.#nextCollect, now + this.#holdMs);
    }
  }

  /**
   * Whether `from` may add a route to `origin` (entry `e`, if known). The caps:
   * - a neighbour holds routes for at most maxOriginsPerNeighbour origins;
   * - a NEW origin is refused while the table holds maxOrigins origins with routes (what is
   *   already in keeps its place: a flood of origins cannot push established ones out), except
   *   a neighbour's own advert, which evicts (admitOrigin's rule) an origin that is not a
   *   neighbour and not in use: the worst metric first (unreachable ones before all), then
   *   the newest.
   */
  #admit(from: PeerIdString, origin: PeerIdString, e: OriginEntry | undefined, now: number): boolean {
    const n = this.#neighbours.get(from);
    if (n !== undefined && n.routes >= this.#maxPerNeighbour) return false;
    if (e !== undefined && e.routes.length > 0) return true; // not a new origin
    if (e === undefined) this.#boundIdle();
    if (this.#liveOrigins < this.#maxOrigins) return true;
    if (origin !== from) return false;
    const victim = pickEviction(this.#evictable(now));
    if (victim === undefined) return false;
    const v = this.#origins.get(victim);
    if (v !== undefined) this.#evict(v, now);
    return true;
  }

  *#evictable(now: number): Generator<EvictionCandidate> {
    for (const e of this.#origins.values()) {
      if (e.routes.length === 0 || this.#neighbours.has(e.origin)) continue;
      const st = this.#stats.get(e.origin);
      if (st !== undefined && (st.outstanding > 0 || now - st.lastAt < this.#holdMs)) continue;
      yield { origin: e.origin, metricMs: e.selected === undefined ? Infinity : this.#total(e.selected, now), addedAt: e.addedAt };
    }
  }

  /** Drop every route to the origin; neighbours hear a retraction, the entry is forgotten a hold time later. */
  #evict(e: OriginEntry, now: number): void {
    while (e.routes.length > 0) this.#removeRoute(e, e.routes.length - 1, now);
    this.#reselect(e, now);
  }

  /**
   * Entries without routes (kept a hold time so their retraction goes out) are bounded too: at
   * 2 × maxOrigins entries, the one idle longest is forgotten at once.
   */
  #boundIdle(): void {
    if (this.#origins.size < 2 * this.#maxOrigins) return;
    let oldest: OriginEntry | undefined;
    for (const e of this.#origins.values()) {
      if (e.routes.length === 0 && (oldest === undefined || e.idleSince < oldest.idleSince)) oldest = e;
    }
    if (oldest !== undefined) this.#forget(oldest);
  }

  #forget(e: OriginEntry): void {
    this.#origins.delete(e.origin);
    this.#capBound?.update(e.origin, [], Infinity);
    this.#seqnoWanted.delete(e);
    const st = this.#stats.get(e.origin);
    if (st !== undefined && st.outstanding === 0) this.#stats.delete(e.origin);
    this.onOriginGone?.(e.origin);
  }

  #updateFor(e: OriginEntry, neighbour: PeerIdString): RouteUpdate {
    const r = e.selected;
    // Split horizon with poison reverse: the next hop hears "unreachable through me".
    if (r === undefined || r.neighbour === neighbour || r.hops + 1 > this.#hopLimit || this.#capBound?.advertised(e.origin) === false) {
      return { advert: r?.advert ?? e.latest, metricMs: Infinity, hops: 0, retracted: true };
    }
    const metric = e.announcedMetric;
    this.#lowerFd(e, r.advert.seq, metric);
    return { advert: r.advert, metricMs: metric, hops: r.hops + 1, retracted: false };
  }

  #localUpdate(): RouteUpdate {
    return { advert: this.#local as ProviderAdvert, metricMs: 0, hops: 0, retracted: false };
  }

  *#views(now: number): Generator<OriginView> {
    if (this.#local !== undefined) yield { origin: this.self, advert: this.#local, nextHop: this.self, hops: 0, pathMs: 0 };
    for (const e of this.#origins.values()) {
      const r = e.selected;
      // The path is the selected route's, but what the origin offers is its newest signed
      // advert, whichever neighbour brought it: a withdrawal counts as soon as it is heard,
      // even while the selected neighbour still relays the older seq.
      if (r !== undefined) yield { origin: e.origin, advert: e.latest, nextHop: r.neighbour, hops: r.hops + 1, pathMs: this.#total(r, now) };
    }
  }

  #statsFor(origin: PeerIdString): PeerStats {
    let s = this.#stats.get(origin);
    if (s === undefined) { s = new PeerStats(); this.#stats.set(origin, s); }
    return s;
  }

  #logEnd(): number {
    return this.#logBase + this.#log.length;
  }

  #logPush(origin: PeerIdString): number {
    this.#log.push(origin);
    return this.#logEnd() - 1;
  }

  /** Drop log entries every neighbour has seen; if one lags too far, it gets a full dump instead. */
  #trimLog(): void {
    if (this.#log.length < 64) return;
    let min = this.#logEnd();
    for (const n of this.#neighbours.values()) if (n.cursor < min && n.cursor >= this.#logBase) min = n.cursor;
    const cap = Math.max(1024, 4 * (this.#origins.size + 1));
    if (this.#log.length - (min - this.#logBase) > cap) min = this.#logEnd() - cap;
    const drop = min - this.#logBase;
    if (drop * 2 < this.#log.length) return;
    this.#log = this.#log.slice(drop);
    this.#logBase = min;
  }
}

export function createRoutingTable(self: PeerIdString, options?: RoutingTableOptions): RoutingTable {
  return new RoutingTable(self, options);
}

function validRtt(rttMs: number): number {
  return Number.isFinite(rttMs) && rttMs >= 0 ? rttMs : 0;
}

function validateUpdate(from: PeerIdString, u: RouteUpdate): void {
  const bad = (what: string): never => { throw new ProtocolError(`route update from ${from}: ${what}`); };
  if (typeof u.advert.origin !== 'string' || u.advert.origin.length === 0) bad('advert origin must be a non-empty peer id');
  if (!Number.isFinite(u.advert.seq)) bad(`advert seq must be a finite number, got ${u.advert.seq}`);
  if (!(u.metricMs >= 0)) bad(`metricMs must be >= 0 or Infinity, got ${u.metricMs}`);
  if (!Number.isInteger(u.hops) || u.hops < 0) bad(`hops must be a non-negative integer, got ${u.hops}`);
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
