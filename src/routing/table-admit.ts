// The routing table's caps (maxOrigins, maxOriginsPerNeighbour): which new routes are admitted,
// which origin is evicted for a neighbour's own advert (the rule is in table-caps.ts), and the
// bound on entries kept without routes. Operates on the table's state.
import { pickEviction, type EvictionCandidate } from './table-caps.ts';
import { removeRoute, reselect } from './table-select.ts';
import type { OriginEntry, TableState } from './table-state.ts';
import type { PeerIdString } from './types.ts';

/**
 * Whether `from` may add a route to `origin` (entry `e`, if known). The caps:
 * - a neighbour holds routes for at most maxOriginsPerNeighbour origins;
 * - a NEW origin is refused while the table holds maxOrigins origins with routes (what is
 *   already in keeps its place: a flood of origins cannot push established ones out), except
 *   a neighbour's own advert, which evicts (admitOrigin's rule) an origin that is not a
 *   neighbour and not in use: the worst metric first (unreachable ones before all), then
 *   the newest.
 */
export function admit(s: TableState, from: PeerIdString, origin: PeerIdString, e: OriginEntry | undefined, now: number): boolean {
  const n = s.neighbours.get(from);
  if (n !== undefined && n.routes >= s.cfg.maxPerNeighbour) return false;
  if (e !== undefined && e.routes.length > 0) return true; // not a new origin
  if (e === undefined) boundIdle(s);
  if (s.liveOrigins < s.cfg.maxOrigins) return true;
  if (origin !== from) return false;
  const victim = pickEviction(evictable(s, now));
  if (victim === undefined) return false;
  const v = s.origins.get(victim);
  if (v !== undefined) evict(s, v, now);
  return true;
}

function* evictable(s: TableState, now: number): Generator<EvictionCandidate> {
  for (const e of s.origins.values()) {
    if (e.routes.length === 0 || s.neighbours.has(e.origin)) continue;
    const st = s.stats.get(e.origin);
    if (st !== undefined && (st.outstanding > 0 || now - st.lastAt < s.cfg.holdMs)) continue;
    yield { origin: e.origin, metricMs: e.selected === undefined ? Infinity : s.total(e.selected, now), addedAt: e.addedAt };
  }
}

/** Drop every route to the origin; neighbours hear a retraction, the entry is forgotten a hold time later. */
function evict(s: TableState, e: OriginEntry, now: number): void {
  while (e.routes.length > 0) removeRoute(s, e, e.routes.length - 1, now);
  reselect(s, e, now);
}

/**
 * Entries without routes (kept a hold time so their retraction goes out) are bounded too: at
 * 2 × maxOrigins entries, the one idle longest is forgotten at once.
 */
function boundIdle(s: TableState): void {
  if (s.origins.size < 2 * s.cfg.maxOrigins) return;
  let oldest: OriginEntry | undefined;
  for (const e of s.origins.values()) {
    if (e.routes.length === 0 && (oldest === undefined || e.idleSince < oldest.idleSince)) oldest = e;
  }
  if (oldest !== undefined) forget(s, oldest);
}

/** Forget an origin entirely (its stats too unless a call is outstanding); tell onOriginGone. */
export function forget(s: TableState, e: OriginEntry): void {
  s.origins.delete(e.origin);
  s.capBound?.update(e.origin, [], Infinity);
  s.seqnoWanted.delete(e);
  const st = s.stats.get(e.origin);
  if (st !== undefined && st.outstanding === 0) s.stats.delete(e.origin);
  s.onOriginGone?.(e.origin);
}
