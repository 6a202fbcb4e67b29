// The routed dispatcher's small decisions, as pure functions: which errors are worth another
// provider, whether a forwarded query may be handled here at all (TTL, time left, loops), which
// next hop a relay takes toward the chosen provider, and whether a query is hedged.
import {
  DeadlineExceededError, ModelNotFoundError, NoFeasibleRouteError, RemoteError, isPlexusError, type PlexusError,
} from '../../errors.ts';
import type { RouteCandidate, SelectionFailure } from '../../routing/types.ts';

export function selectionError(model: string, f: SelectionFailure): Error {
  switch (f.reason) {
    case 'unknown': return new ModelNotFoundError(model, `model or capability '${model}' is not served anywhere in the cluster: ${f.message}`);
    case 'constraints': return new NoFeasibleRouteError(f.message);
    case 'deadline': return new DeadlineExceededError(f.message);
  }
}

/** Errors after which another provider may well succeed. */
export function isRetryable(e: unknown): boolean {
  if (!isPlexusError(e)) return false;
  return e.kind === 'unavailable' || e.kind === 'resource_exhausted' || e.kind === 'deadline_exceeded' || (e instanceof RemoteError && e.kind === 'not_found');
}

/** What a forwarded query carries that the arrival checks read. */
export interface Arrival {
  readonly queryId: string;
  readonly ttl: number;
  readonly remainingMs: number;
  readonly route: readonly string[];
}

/** Why a forwarded query may not be handled at `self` (TTL spent, no time left, a loop), or undefined. */
export function arrivalError(req: Arrival, self: string): PlexusError | undefined {
  if (req.ttl <= 0) return new NoFeasibleRouteError(`query ${req.queryId}: TTL exhausted at ${self} (route ${req.route.join(',')})`);
  if (req.remainingMs <= 0) return new DeadlineExceededError(`query ${req.queryId}: no time left on arrival at ${self}`);
  if (req.route.includes(self)) return new NoFeasibleRouteError(`query ${req.queryId}: routing loop through ${self} (route ${req.route.join(',')})`);
  return undefined;
}

/** The fields a relay changes when it passes a query on: one hop less, itself on the route. */
export function passedOn<T extends { readonly ttl: number; readonly route: readonly string[] }>(req: T, self: string, remainingMs: number): T {
  return { ...req, ttl: req.ttl - 1, remainingMs, route: [...req.route, self] };
}

/** A relay's next hop toward `origin`: the best candidate to it not through us and not failed yet. */
export function relayCandidate(candidates: readonly RouteCandidate[], origin: string, self: string, failed: ReadonlySet<string>): RouteCandidate | undefined {
  return candidates.find((c) => c.origin === origin && c.nextHop !== self && !failed.has(c.nextHop));
}

/** The pair to hedge (the best route, and the best one of another provider), when hedging applies. */
export function hedgePair(candidates: readonly RouteCandidate[], hedgeMs: number | undefined, budgetMs: number): { first: RouteCandidate; second: RouteCandidate; hedgeMs: number } | undefined {
  const [first] = candidates;
  const second = candidates.find((c) => c.origin !== first?.origin);
  if (hedgeMs === undefined || first === undefined || second === undefined || hedgeMs >= budgetMs) return undefined;
  return { first, second, hedgeMs };
}
