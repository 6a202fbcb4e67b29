// Route updates into the routing table and their expiry: a neighbour's update adds, refreshes
// or retracts its route to an origin (within the table's caps), and routes not refreshed
// within the hold time go. Operates on the table's state (src/routing/table-state.ts).
import { ProtocolError } from '../errors.ts';
import { admit, forget } from './table-admit.ts';
import { removeRoute, reselect } from './table-select.ts';
import type { OriginEntry, TableState } from './table-state.ts';
import type { PeerIdString, ProviderAdvert, RouteUpdate } from './types.ts';

/** Apply a (signature-verified) update from a neighbour; whether anything changed. */
export function applyUpdate(s: TableState, from: PeerIdString, update: RouteUpdate, now: number): boolean {
  if (!s.neighbours.has(from)) return false; // only neighbours (neighbourUp first) may speak
  validateUpdate(from, update);
  const advert = update.advert;
  if (advert.origin === s.self) return false;
  const unreachable = update.retracted || update.metricMs === Infinity || update.hops + 1 > s.cfg.hopLimit;
  let e = s.origins.get(advert.origin);
  const i = e === undefined ? -1 : e.routes.findIndex((r) => r.neighbour === from);
  if (!unreachable && i < 0 && !admit(s, from, advert.origin, e, now)) return false;
  if (e === undefined) {
    if (unreachable) return false;
    e = newEntry(advert, now);
    s.origins.set(advert.origin, e);
  }
  if (advert.seq > e.latest.seq) e.latest = advert;
  if (unreachable) {
    if (i < 0) return false;
    removeRoute(s, e, i, now);
    return reselect(s, e, now);
  }
  const expiresAt = now + s.cfg.holdMs;
  const r = e.routes[i];
  if (r === undefined) {
    if (e.routes.length === 0) s.liveOrigins++;
    e.routes.push({ neighbour: from, advert, metricMs: update.metricMs, hops: update.hops, expiresAt });
    e.idleSince = -1;
    s.routeCount++;
    const n = s.neighbours.get(from);
    if (n !== undefined) n.routes++;
    if (expiresAt < s.earliestExpiry) s.earliestExpiry = expiresAt;
  } else {
    const same = r.advert.seq === advert.seq && r.metricMs === update.metricMs && r.hops === update.hops;
    r.expiresAt = expiresAt;
    if (same) return false; // a refresh
    r.advert = advert;
    r.metricMs = update.metricMs;
    r.hops = update.hops;
  }
  return reselect(s, e, now);
}

/** Drop routes not refreshed within the hold time, and forget origins a hold time without routes. */
export function expire(s: TableState, now: number): boolean {
  for (const marks of [s.down, s.providerDown]) for (const [peer, until] of marks) if (until <= now) marks.delete(peer);
  if (now < s.earliestExpiry && now < s.nextCollect) return false;
  let changed = false;
  let earliest = Infinity;
  s.nextCollect = Infinity;
  for (const e of s.origins.values()) {
    let removed = false;
    for (let i = e.routes.length - 1; i >= 0; i--) {
      const r = e.routes[i];
      if (r === undefined) continue;
      if (r.expiresAt <= now) {
        removeRoute(s, e, i, now);
        removed = true;
      } else if (r.expiresAt < earliest) {
        earliest = r.expiresAt;
      }
    }
    if (removed && reselect(s, e, now)) changed = true;
    if (e.routes.length === 0 && e.selected === undefined) {
      // Forget an origin with no route for a hold time: its retraction has long gone out.
      if (now - e.idleSince >= s.cfg.holdMs) forget(s, e);
      else s.nextCollect = Math.min(s.nextCollect, e.idleSince + s.cfg.holdMs);
    }
  }
  s.earliestExpiry = earliest;
  return changed;
}

function newEntry(advert: ProviderAdvert, now: number): OriginEntry {
  return {
    origin: advert.origin, routes: [], selected: undefined, announcedMetric: Infinity, announcedSeq: -Infinity,
    fdSeq: -Infinity, fdMetric: Infinity, latest: advert, logPos: -1, seqnoAt: 0, seqnoTries: 0, idleSince: now, addedAt: now,
  };
}

function validateUpdate(from: PeerIdString, u: RouteUpdate): void {
  const bad = (what: string): never => { throw new ProtocolError(`route update from ${from}: ${what}`); };
  if (typeof u.advert.origin !== 'string' || u.advert.origin.length === 0) bad('advert origin must be a non-empty peer id');
  if (!Number.isFinite(u.advert.seq)) bad(`advert seq must be a finite number, got ${u.advert.seq}`);
  if (!(u.metricMs >= 0)) bad(`metricMs must be >= 0 or Infinity, got ${u.metricMs}`);
  if (!Number.isInteger(u.hops) || u.hops < 0) bad(`hops must be a non-negative integer, got ${u.hops}`);
}
