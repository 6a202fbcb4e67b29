// The routing table's state (src/routing/table.ts): its compiled options, the entries per
// origin and neighbour, and the metric of a heard route (link cost, measured path floors,
// relays that understate their metric). The table's operations live in table-*.ts beside it.
import { advertKeys, CapabilityTopK } from './cap-bound.ts';
import type { Ewma } from './ewma.ts';
import type { RoutingPolicy } from './policies.ts';
import { seededRng, type Rng } from './rng.ts';
import type { PeerStats, TrustHook } from './selection.ts';
import { ChangeLog } from './table-log.ts';
import type { AdvertisedModel, PeerIdString, ProviderAdvert } from './types.ts';

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

/** A route heard from one neighbour; mutated in place on refresh to keep 10k tables compact. */
export interface HeardRoute {
  readonly neighbour: PeerIdString;
  advert: ProviderAdvert;
  /** The neighbour's metric and hops to the origin (ours adds the link). */
  metricMs: number;
  hops: number;
  expiresAt: number;
}

export interface OriginEntry {
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

export interface TableNeighbour {
  readonly cost: Ewma;
  /** Change-log position up to which this neighbour has been sent updates. */
  cursor: number;
  needsFull: boolean;
  /** Origins this neighbour holds a route for in the table. */
  routes: number;
}

export interface TableConfig {
  readonly holdMs: number;
  readonly hopLimit: number;
  readonly linkTauMs: number;
  readonly minLinkCost: number;
  readonly hopCost: number;
  readonly significant: number;
  readonly switchMargin: number;
  readonly policy: RoutingPolicy;
  readonly rng: Rng;
  readonly trust: TrustHook | undefined;
  readonly maxOrigins: number;
  readonly maxPerNeighbour: number;
  readonly maxPerCapability: number | undefined;
}

/** Every default of the table's options. */
export function tableConfig(self: PeerIdString, options: RoutingTableOptions): TableConfig {
  return {
    holdMs: options.holdMs ?? 90_000,
    hopLimit: options.hopLimit ?? 16,
    linkTauMs: options.linkTauMs ?? 10_000,
    minLinkCost: options.minLinkCostMs ?? 0.05,
    hopCost: options.hopCostMs ?? 1,
    significant: options.significantChange ?? 0.1,
    switchMargin: options.switchMarginMs ?? 0.5,
    policy: options.policy ?? 'plexus',
    rng: options.rng ?? seededRng(0x9e3779b9 ^ hashString(self)),
    trust: options.trust,
    maxOrigins: options.maxOrigins ?? Infinity,
    maxPerNeighbour: options.maxOriginsPerNeighbour ?? Infinity,
    maxPerCapability: options.maxOriginsPerCapability,
  };
}

/** The table's mutable state, shared by its operations (one table, one state). */
export class TableState {
  /** Origins waiting for a newer seq (see OriginEntry.seqnoAt): small, so polling it is cheap. */
  readonly seqnoWanted = new Set<OriginEntry>();
  readonly origins = new Map<PeerIdString, OriginEntry>();
  readonly neighbours = new Map<PeerIdString, TableNeighbour>();
  readonly stats = new Map<PeerIdString, PeerStats>();
  /** Peers marked down in every role (as provider and as next hop), until. */
  readonly down = new Map<PeerIdString, number>();
  /** Peers marked down only as providers, until: routes through them to others stay usable. */
  readonly providerDown = new Map<PeerIdString, number>();
  readonly roundRobin = new Map<string, number>();
  /** Origins in order of change; neighbours keep cursors into it for incremental updates. */
  readonly log = new ChangeLog();
  local: ProviderAdvert | undefined;
  localModels: readonly AdvertisedModel[] = [];
  localLogPos = -1;
  earliestExpiry = Infinity;
  nextCollect = Infinity;
  routeCount = 0;
  /** Origins with at least one route (what maxOrigins bounds). */
  liveOrigins = 0;
  /** A change since the last takeUrgentChange() that should go out at once (table-select.ts reselect), not wait for the next flush. */
  urgentChange = false;
  /** Called with each origin the table forgets (GC or eviction). */
  onOriginGone: ((origin: PeerIdString) => void) | undefined;

  readonly self: PeerIdString;
  readonly cfg: TableConfig;
  /** maxOriginsPerCapability: which origins are advertised onward (undefined = all). */
  readonly capBound: CapabilityTopK | undefined;

  constructor(self: PeerIdString, cfg: TableConfig) {
    this.self = self;
    this.cfg = cfg;
    this.capBound = cfg.maxPerCapability === undefined ? undefined : new CapabilityTopK(cfg.maxPerCapability);
  }

  /** maxOriginsPerCapability: origins that entered or left the advertised set go out as changes. */
  bound(e: OriginEntry): void {
    if (this.capBound === undefined) return;
    const metric = e.selected === undefined ? Infinity : e.announcedMetric;
    for (const o of this.capBound.update(e.origin, advertKeys(e.latest.models), metric)) {
      const f = this.origins.get(o);
      if (f !== undefined && f !== e) f.logPos = this.log.push(o);
    }
  }

  /** Replace the local advert (seq = max(prev + 1, now): monotonic across restarts without persisted state). */
  setLocal(models: readonly AdvertisedModel[], now: number): ProviderAdvert {
    const seq = Math.max((this.local?.seq ?? 0) + 1, Math.floor(now));
    this.localModels = models;
    this.local = { origin: this.self, seq, models, issuedAt: now };
    this.localLogPos = this.log.push(this.self);
    return this.local;
  }

  cost(n: TableNeighbour, now: number): number {
    return this.cfg.hopCost + Math.max(this.cfg.minLinkCost, n.cost.get(now) ?? this.cfg.minLinkCost);
  }

  /**
   * How many times its advertised metric a relayed route measured (src/routing/reputation.ts),
   * when clearly worse than advertised; undefined when not.
   */
  understated(r: HeardRoute, now: number): number | undefined {
    const n = this.neighbours.get(r.neighbour);
    const trust = this.cfg.trust;
    if (n === undefined || r.neighbour === r.advert.origin || trust?.pathFloor === undefined) return undefined;
    const advertised = r.metricMs + this.cost(n, now);
    const floor = trust.pathFloor(r.advert.origin, r.neighbour, now, advertised);
    return floor === undefined ? undefined : floor / advertised;
  }

  /**
   * The routes that lose the origin for being measured clearly worse than they advertise. When
   * every route is (on a loaded machine every measured path exceeds its advert), the one whose
   * measurement is the least multiple of its advert keeps it: load inflates honest paths in
   * proportion, a forged metric is off by far more.
   */
  lying(e: OriginEntry, now: number): HeardRoute[] {
    if (e.routes.length < 2) return [];
    const off = e.routes.map((r) => ({ r, x: this.understated(r, now) }));
    const lying = off.filter((o) => o.x !== undefined);
    if (lying.length < e.routes.length) return lying.map((o) => o.r);
    let least = lying[0];
    for (const o of lying) if ((o.x ?? Infinity) < (least?.x ?? Infinity)) least = o;
    return lying.filter((o) => o !== least).map((o) => o.r);
  }

  total(r: HeardRoute, now: number): number {
    const n = this.neighbours.get(r.neighbour);
    if (n === undefined) return Infinity;
    const advertised = r.metricMs + this.cost(n, now);
    // A relay's metric cannot be lower than what this node measured through it (issue 9).
    const floor = r.neighbour !== r.advert.origin ? this.cfg.trust?.pathFloor?.(r.advert.origin, r.neighbour, now, advertised) : undefined;
    return floor === undefined ? advertised : Math.max(advertised, floor);
  }
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
