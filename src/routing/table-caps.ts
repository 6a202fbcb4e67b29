// The routing table's eviction rule (RoutingTable caps: maxOrigins, maxOriginsPerNeighbour).
// When the table is full, a new origin relayed by a neighbour is refused (what is in keeps its
// place); a neighbour's own advert may take the place of an origin that is neither a neighbour
// nor in use (a query outstanding or answered within the hold time), chosen here.
import type { PeerIdString } from './types.ts';

export interface EvictionCandidate {
  readonly origin: PeerIdString;
  /** Our metric to it; Infinity when only infeasible routes remain. */
  readonly metricMs: number;
  readonly addedAt: number;
}

/** The table's eviction rule, among origins that are not neighbours and not in use: worst metric first, then newest. */
export function pickEviction(candidates: Iterable<EvictionCandidate>): PeerIdString | undefined {
  let best: EvictionCandidate | undefined;
  for (const c of candidates) {
    if (best === undefined || c.metricMs > best.metricMs || (c.metricMs === best.metricMs && c.addedAt > best.addedAt)) best = c;
  }
  return best?.origin;
}

