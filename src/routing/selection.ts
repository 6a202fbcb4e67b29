// Candidate building, constraint filtering and scoring for `select`. The table hands in one
// view per reachable origin (its selected route); this file turns matching models into
// RouteCandidates, filters them by the caller's constraints, and orders them by policy.

import { Ewma, estimateQueueWaitMs } from './ewma.ts';
import { hopConstraints } from './pipeline-scope.ts';
import { orderCandidates, type RoutingPolicy, type ScoredCandidate } from './policies.ts';
import type { Rng } from './rng.ts';
import type { AdvertisedModel, DownRole, PeerIdString, ProviderAdvert, QueryConstraints, RouteCandidate, Selection } from './types.ts';

/** One reachable origin as seen from this node. */
export interface OriginView {
  readonly origin: PeerIdString;
  readonly advert: ProviderAdvert;
  readonly nextHop: PeerIdString;
  readonly hops: number;
  /** One-way path latency, ms. */
  readonly pathMs: number;
}

/** Score weights: an error rate of e multiplies the score by (1 + ERROR_WEIGHT·e) and adds e·ERROR_PENALTY_MS. */
const ERROR_WEIGHT = 4;
const ERROR_PENALTY_MS = 500;

/** What this node has observed about calls to one provider. */
export class PeerStats {
  outstanding = 0;
  /** When the last call to this origin ended, epoch ms (an origin in use is never evicted). */
  lastAt = -Infinity;
  /** Observed end-to-end latency of successful calls (peak EWMA: slow spells show at once). */
  readonly latency = new Ewma({ tauMs: 10_000, peak: true });
  /** Failure rate; forgets with time so a recovered provider gets traffic again. */
  readonly errors = new Ewma({ tauMs: 30_000, restValue: 0, minAlpha: 0.25 });

  record(ok: boolean, latencyMs: number, now: number): void {
    this.outstanding = Math.max(0, this.outstanding - 1);
    this.lastAt = now;
    this.errors.observe(ok ? 0 : 1, now);
    // A failure's latency is not a sign of speed: a replica that fails fast must not look fast.
    if (ok && Number.isFinite(latencyMs) && latencyMs >= 0) this.latency.observe(latencyMs, now);
  }

  errorRate(now: number): number {
    return this.errors.get(now) ?? 0;
  }

  /** The RouteCandidate for one model of an origin, with every metric part. */
  static candidate(v: OriginView, m: AdvertisedModel, stats: PeerStats | undefined, now: number): RouteCandidate {
    const queueWaitMs = estimateQueueWaitMs(m.load, m.capacity, m.computeMs, stats?.outstanding ?? 0, m.concurrency ?? 1);
    const modelled = 2 * v.pathMs + queueWaitMs + m.computeMs;
    const observed = stats?.latency.get(now);
    // The observed part fades once calls stop (a demoted provider gets none), so it is not held against it forever.
    const fresh = stats === undefined ? 0 : Math.exp(-Math.max(0, now - stats.latency.lastAt) / OBSERVED_FORGET_MS);
    return {
      origin: v.origin, model: m.name, version: m.version, nextHop: v.nextHop, hops: v.hops,
      pathLatencyMs: v.pathMs, computeMs: m.computeMs, queueWaitMs, price: m.price, provider: m.provider,
      // Blend the advert-based model with what calls really took, once there are samples.
      expectedMs: observed === undefined ? modelled : modelled + fresh * ((modelled + observed) / 2 - modelled),
    };
  }
}

/** This node's view of its peers' honesty (src/routing/reputation.ts), applied to every candidate. */
export interface TrustHook {
  /** The candidate as ranked here (a measured figure may replace a provider's claim). */
  adjust(c: RouteCandidate, now: number): RouteCandidate;
  /** A quarantined provider's routes are ignored. */
  quarantined(origin: PeerIdString, now: number): boolean;
  /** The least one-way path metric accepted for `origin` through `neighbour` (what this node measured), if above `advertisedMs`. */
  pathFloor?(origin: PeerIdString, neighbour: PeerIdString, now: number, advertisedMs: number): number | undefined;
}

/** A measured latency older than this weighs less and less (a peak from long ago is forgiven). */
const OBSERVED_FORGET_MS = 60_000;

export interface SelectContext {
  readonly trust?: TrustHook;
  readonly now: number;
  readonly policy: RoutingPolicy;
  readonly rng: Rng;
  readonly roundRobin: Map<string, number>;
  readonly stats: (origin: PeerIdString) => PeerStats | undefined;
  /** Until when `peer` is marked down in `role` (as a provider, marks of either role count). */
  readonly downUntil: (peer: PeerIdString, role: DownRole) => number;
}

function matches(m: AdvertisedModel, name: string): boolean {
  return m.name === name || m.capabilities.includes(name);
}

function isDown(ctx: SelectContext, peer: PeerIdString, role: DownRole): boolean {
  return ctx.downUntil(peer, role) > ctx.now;
}

export function selectRoutes(name: string, c: QueryConstraints, views: Iterable<OriginView>, ctx: SelectContext): Selection {
  const excluded = { peer: 0, provider: 0, cost: 0, hops: 0, quarantined: 0 };
  let cheapest = Infinity;
  let fewestHops = Infinity;
  let served = 0;
  const passed: ScoredCandidate[] = [];
  // Meet every constraint but are marked down: used only when nothing else is (panic mode).
  const downed: ScoredCandidate[] = [];
  for (const v of views) {
    const stats = ctx.stats(v.origin);
    for (const m of v.advert.models) {
      if (!matches(m, name)) continue;
      served++;
      // A pipeline's per-step constraints (peer, provider, max_hops) bind its steps, not this hop.
      const h = hopConstraints(m, c);
      if (h.peer !== undefined && v.origin !== h.peer) { excluded.peer++; continue; }
      if (h.provider !== undefined && m.provider !== h.provider) { excluded.provider++; continue; }
      if (c.maxCost !== undefined && m.price > c.maxCost) { excluded.cost++; cheapest = Math.min(cheapest, m.price); continue; }
      if (h.maxHops !== undefined && v.hops > h.maxHops) { excluded.hops++; fewestHops = Math.min(fewestHops, v.hops); continue; }
      if (ctx.trust?.quarantined(v.origin, ctx.now) === true) { excluded.quarantined++; continue; }
      // A peer is marked down as a provider that failed (its own routes) or as a peer whose
      // link failed (every route through it too): such routes are skipped while any other is usable.
      const down = isDown(ctx, v.origin, 'provider') || (v.nextHop !== v.origin && isDown(ctx, v.nextHop, 'peer'));
      const plain = PeerStats.candidate(v, m, stats, ctx.now);
      const candidate = ctx.trust === undefined ? plain : ctx.trust.adjust(plain, ctx.now);
      const err = stats?.errorRate(ctx.now) ?? 0;
      (down ? downed : passed).push({
        candidate,
        score: candidate.expectedMs * (1 + ERROR_WEIGHT * err) + err * ERROR_PENALTY_MS,
        outstanding: stats?.outstanding ?? 0,
      });
    }
  }
  if (served === 0) {
    return { ok: false, failure: { reason: 'unknown', message: `no reachable provider serves model or capability '${name}'` } };
  }
  if (passed.length === 0 && downed.length > 0) {
    // Every usable route is marked down after a failure (one failure, our guess). Refusing the
    // query would turn that guess into a FAILED_PRECONDITION; trying them gives the real
    // answer, like Envoy's panic threshold.
    passed.push(...downed);
  }
  if (passed.length === 0) {
    const parts: string[] = [];
    if (excluded.peer > 0) parts.push(`${excluded.peer} not on the pinned plexus.peer ${c.peer ?? ''}`);
    if (excluded.provider > 0) parts.push(`${excluded.provider} not on plexus.provider ${c.provider ?? ''}`);
    if (excluded.cost > 0) parts.push(`${excluded.cost} over plexus.max_cost ${c.maxCost ?? ''} (cheapest costs ${cheapest})`);
    if (excluded.hops > 0) parts.push(`${excluded.hops} beyond plexus.max_hops ${c.maxHops ?? ''} (nearest is ${fewestHops} hops)`);
    if (excluded.quarantined > 0) parts.push(`${excluded.quarantined} of a provider quarantined here after a wrong answer`);
    return {
      ok: false,
      failure: { reason: 'constraints', message: `no route for '${name}' satisfies the constraints: of ${served} candidates, ${parts.join('; ')}` },
    };
  }
  let fitting = passed;
  if (c.deadlineMs !== undefined) {
    const deadline = c.deadlineMs;
    fitting = passed.filter((s) => s.candidate.expectedMs <= deadline);
    if (fitting.length === 0) {
      const fastest = Math.min(...passed.map((s) => s.candidate.expectedMs));
      return {
        ok: false,
        failure: { reason: 'deadline', message: `no route for '${name}' fits the ${Math.round(deadline)} ms deadline (fastest expected ${Math.round(fastest)} ms)` },
      };
    }
  }
  return { ok: true, candidates: orderCandidates(ctx.policy, c.prefer, fitting, { rng: ctx.rng, roundRobin: ctx.roundRobin, key: name }) };
}
