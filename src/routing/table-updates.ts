// What the routing table tells its neighbours: a full dump or the changes since a neighbour's
// cursor in the change log, with split horizon and poison reverse; and the views of the
// selected routes that selection and GetRoutes read. Operates on the table's state.
import type { OriginView } from './selection.ts';
import { lowerFd } from './table-select.ts';
import type { OriginEntry, TableState } from './table-state.ts';
import type { PeerIdString, ProviderAdvert, RouteUpdate } from './types.ts';

function updateFor(s: TableState, e: OriginEntry, neighbour: PeerIdString): RouteUpdate {
  const r = e.selected;
  // Split horizon with poison reverse: the next hop hears "unreachable through me".
  if (r === undefined || r.neighbour === neighbour || r.hops + 1 > s.cfg.hopLimit || s.capBound?.advertised(e.origin) === false) {
    return { advert: r?.advert ?? e.latest, metricMs: Infinity, hops: 0, retracted: true };
  }
  const metric = e.announcedMetric;
  lowerFd(e, r.advert.seq, metric);
  return { advert: r.advert, metricMs: metric, hops: r.hops + 1, retracted: false };
}

function localUpdate(local: ProviderAdvert): RouteUpdate {
  return { advert: local, metricMs: 0, hops: 0, retracted: false };
}

/** The updates for one neighbour: everything (`full`, a new or lagging neighbour) or what changed since its cursor. */
export function updatesFor(s: TableState, neighbour: PeerIdString, full: boolean): RouteUpdate[] {
  const n = s.neighbours.get(neighbour);
  if (n === undefined) return [];
  const out: RouteUpdate[] = [];
  const end = s.log.end();
  if (full || n.needsFull || n.cursor < s.log.base) {
    if (s.local !== undefined) out.push(localUpdate(s.local));
    // Origins outside the per-capability bound were retracted when they left it; a full dump leaves them out.
    for (const e of s.origins.values()) if (s.capBound?.advertised(e.origin) !== false) out.push(updateFor(s, e, neighbour));
    n.needsFull = false;
  } else {
    for (let pos = n.cursor; pos < end; pos++) {
      const origin = s.log.at(pos);
      if (origin === undefined) continue;
      if (origin === s.self) {
        if (pos === s.localLogPos && s.local !== undefined) out.push(localUpdate(s.local));
        continue;
      }
      const e = s.origins.get(origin);
      if (e !== undefined && e.logPos === pos) out.push(updateFor(s, e, neighbour));
    }
  }
  n.cursor = end;
  if (s.log.length >= 64) s.log.trim([...s.neighbours.values()].map((x) => x.cursor), s.origins.size);
  return out;
}

/** Whether incremental updates are waiting for any neighbour. */
export function hasPendingUpdates(s: TableState): boolean {
  const end = s.log.end();
  for (const n of s.neighbours.values()) if (n.needsFull || n.cursor < end) return true;
  return false;
}

/** Our own advert and the selected route to every reachable origin. */
export function* views(s: TableState, now: number): Generator<OriginView> {
  if (s.local !== undefined) yield { origin: s.self, advert: s.local, nextHop: s.self, hops: 0, pathMs: 0 };
  for (const e of s.origins.values()) {
    const r = e.selected;
    // The path is the selected route's, but what the origin offers is its newest signed
    // advert, whichever neighbour brought it: a withdrawal counts as soon as it is heard,
    // even while the selected neighbour still relays the older seq.
    if (r !== undefined) yield { origin: e.origin, advert: e.latest, nextHop: r.neighbour, hops: r.hops + 1, pathMs: s.total(r, now) };
  }
}
