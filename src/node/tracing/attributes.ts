// Span attributes of the routing decisions (pure: routing data in, attribute map out), so the
// dispatcher's trace calls stay one line each and the shapes are tested on their own.
import type { TraceAttributes } from '../../trace.ts';
import type { RouteCandidate } from '../../routing/types.ts';
import type { Selection } from '../../routing/types.ts';

/** Candidates listed on a route span, best first; the rest are counted. */
export const MAX_LISTED_CANDIDATES = 16;

const round1 = (ms: number): number => Math.round(ms * 10) / 10;

/** `origin model@version via nextHop`: one candidate, readable in a trace viewer. */
export function describeCandidate(c: RouteCandidate): string {
  return `${c.origin} ${c.model}@${c.version} via ${c.nextHop}`;
}

/** The route selection span: the chosen route (the best candidate) and every candidate's expected ms. */
export function routeAttributes(sel: Selection): TraceAttributes {
  if (!sel.ok) return { 'plexus.route.failure': sel.failure.reason, 'plexus.route.candidate_count': 0 };
  const listed = sel.candidates.slice(0, MAX_LISTED_CANDIDATES);
  const chosen = sel.candidates[0];
  return {
    'plexus.route.candidate_count': sel.candidates.length,
    'plexus.route.candidates': listed.map(describeCandidate),
    'plexus.route.candidates_expected_ms': listed.map((c) => round1(c.expectedMs)),
    ...(chosen === undefined ? {} : {
      'plexus.route.chosen': describeCandidate(chosen),
      'plexus.route.chosen_expected_ms': round1(chosen.expectedMs),
      'plexus.route.chosen_hops': chosen.hops,
    }),
  };
}

/** One try on a route (a forward span): its target and which try it is (1 first, 2+ failover or hedge). */
export function attemptAttributes(c: RouteCandidate, attempt: number, hedge: boolean): TraceAttributes {
  return {
    'plexus.origin': c.origin, 'plexus.next_hop': c.nextHop, 'plexus.model': c.model, 'plexus.attempt': attempt,
    'plexus.expected_ms': round1(c.expectedMs), ...(hedge ? { 'plexus.hedge': true } : {}),
  };
}
