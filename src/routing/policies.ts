// Selection policies, selectable per table (option `policy`) or per call (select's 4th
// argument), so the scored policy can be compared with the simple ones proxies offer
// (LiteLLM's simple-shuffle / least-busy, Envoy's RANDOM / ROUND_ROBIN / LEAST_REQUEST):
//   random             uniform shuffle of the feasible candidates
//   round-robin        rotate through candidates (in score order), one step per call per name
//   least-outstanding  fewest calls this node has in flight there; ties by score
//   plexus             order by `prefer` on the full score (path, queue, compute, errors,
//                      price), then power-of-two-choices among near-equal leaders so equal
//                      replicas share load while a clearly worse one gets none
// Every policy returns ALL candidates (best first), so callers can fail over or hedge.

import { randInt, type Rng } from './rng.ts';
import type { PreferPolicy, RouteCandidate } from './types.ts';

export type RoutingPolicy = 'plexus' | 'random' | 'round-robin' | 'least-outstanding';
export const ROUTING_POLICIES: readonly RoutingPolicy[] = ['plexus', 'random', 'round-robin', 'least-outstanding'];

export interface ScoredCandidate {
  readonly candidate: RouteCandidate;
  /** Expected ms inflated by the error penalty (lower is better). */
  readonly score: number;
  /** Calls this node has in flight to the candidate's origin. */
  readonly outstanding: number;
}

export interface PolicyContext {
  readonly rng: Rng;
  readonly roundRobin: Map<string, number>;
  /** Round-robin rotates per key (the requested name). */
  readonly key: string;
}

/** Candidates whose score is within this fraction (or NEAR_MS) of the leader's count as equal. */
const NEAR_FRACTION = 0.15;
const NEAR_MS = 3;
/** Balanced: weight of ln(latency) (the rest goes to ln(price)). */
const BALANCED_LATENCY_WEIGHT = 0.5;
/** Within this of the best balanced value (≈ 5% on the geometric mean) counts as equal. */
const NEAR_BALANCED = 0.05;
/** Price floor as a fraction of the dearest candidate's price. */
const BALANCED_PRICE_FLOOR = 0.05;
/** Latencies below this (ms) count as this, so sub-millisecond noise does not decide. */
const BALANCED_MIN_MS = 0.5;

export function orderCandidates(policy: RoutingPolicy, prefer: PreferPolicy, list: readonly ScoredCandidate[], ctx: PolicyContext): RouteCandidate[] {
  const byScore = [...list].sort((a, b) => a.score - b.score);
  switch (policy) {
    case 'random': {
      const a = [...list];
      for (let i = a.length - 1; i > 0; i--) {
        const j = randInt(ctx.rng, i + 1);
        [a[i], a[j]] = [a[j] as ScoredCandidate, a[i] as ScoredCandidate];
      }
      return a.map((s) => s.candidate);
    }
    case 'round-robin': {
      const n = ctx.roundRobin.get(ctx.key) ?? 0;
      ctx.roundRobin.set(ctx.key, n + 1);
      const k = n % Math.max(1, byScore.length);
      return [...byScore.slice(k), ...byScore.slice(0, k)].map((s) => s.candidate);
    }
    case 'least-outstanding':
      return [...list].sort((a, b) => a.outstanding - b.outstanding || a.score - b.score).map((s) => s.candidate);
    case 'plexus':
      return plexusOrder(prefer, list, ctx.rng);
  }
}

function nearScore(s: number, best: number): boolean {
  return s <= best * (1 + NEAR_FRACTION) || s <= best + NEAR_MS;
}

function plexusOrder(prefer: PreferPolicy, list: readonly ScoredCandidate[], rng: Rng): RouteCandidate[] {
  let sorted: ScoredCandidate[];
  let near: (s: ScoredCandidate, best: ScoredCandidate) => boolean;
  if (prefer === 'latency') {
    sorted = [...list].sort((a, b) => a.score - b.score);
    near = (s, best) => nearScore(s.score, best.score);
  } else if (prefer === 'cost') {
    sorted = [...list].sort((a, b) => a.candidate.price - b.candidate.price || a.score - b.score);
    near = (s, best) => s.candidate.price <= best.candidate.price * (1 + 1e-9) + 1e-12 && nearScore(s.score, best.score);
  } else {
    const value = balancedValues(list);
    sorted = [...list].sort((a, b) => (value.get(a) ?? 0) - (value.get(b) ?? 0) || a.score - b.score);
    near = (s, best) => (value.get(s) ?? 0) <= (value.get(best) ?? 0) + NEAR_BALANCED && nearScore(s.score, best.score);
  }
  const leader = sorted[0];
  if (leader === undefined) return [];
  const group = sorted.filter((s) => near(s, leader));
  if (group.length < 2) return sorted.map((s) => s.candidate);
  // Power of two choices: two random near-equal candidates; the less loaded one goes first.
  const i = randInt(rng, group.length);
  let j = randInt(rng, group.length - 1);
  if (j >= i) j++;
  const a = group[i] as ScoredCandidate;
  const b = group[j] as ScoredCandidate;
  const winner = loadOf(b) < loadOf(a) ? b : a;
  return [winner, ...sorted.filter((s) => s !== winner)].map((s) => s.candidate);
}

/** P2C's load signal: expected latency scaled by the calls already in flight there. */
function loadOf(s: ScoredCandidate): number {
  return s.score * (s.outstanding + 1);
}

/**
 * Balanced value: w·ln(score) + (1−w)·ln(price + floor), i.e. the weighted geometric mean of
 * expected latency and price, so "twice as slow" trades against "twice as cheap". Unlike a
 * min-max normalisation it does not depend on the other candidates: one badly overloaded
 * replica must not compress every other latency difference to nothing (it did: the cheap
 * replicas kept all the traffic while their queues grew, and a flaky one got a share).
 * The floor keeps a free (price 0) provider from winning at any latency.
 */
function balancedValues(list: readonly ScoredCandidate[]): Map<ScoredCandidate, number> {
  let pMax = 0;
  for (const s of list) pMax = Math.max(pMax, s.candidate.price);
  const floor = Math.max(1e-9, BALANCED_PRICE_FLOOR * pMax);
  const out = new Map<ScoredCandidate, number>();
  for (const s of list) {
    const l = Math.log(Math.max(BALANCED_MIN_MS, s.score));
    const p = Math.log(Math.max(0, s.candidate.price) + floor);
    out.set(s, BALANCED_LATENCY_WEIGHT * l + (1 - BALANCED_LATENCY_WEIGHT) * p);
  }
  return out;
}

export function isRoutingPolicy(s: string): s is RoutingPolicy {
  return (ROUTING_POLICIES as readonly string[]).includes(s);
}
