// Route selection for one origin (RFC 8966 §3.5): the best feasible route, the feasibility
// distance it lowers, and when the change is worth a triggered update. Operates on the
// table's state (src/routing/table-state.ts).
import type { HeardRoute, OriginEntry, TableState } from './table-state.ts';

/** RFC 8966 §3.5.1: the neighbour's advertised metric (before our link cost) must beat our FD. */
export function feasible(e: OriginEntry, seq: number, metric: number): boolean {
  return seq > e.fdSeq || (seq === e.fdSeq && metric < e.fdMetric);
}

export function lowerFd(e: OriginEntry, seq: number, metric: number): void {
  if (seq > e.fdSeq) { e.fdSeq = seq; e.fdMetric = metric; } else if (seq === e.fdSeq && metric < e.fdMetric) e.fdMetric = metric;
}

/** The best usable route and its metric; the current one is kept unless another beats it by the switch margin. */
function best(s: TableState, e: OriginEntry, now: number): { r: HeardRoute | undefined; m: number } {
  const cur = e.selected;
  let r: HeardRoute | undefined;
  let m = Infinity;
  let curM = Infinity;
  // A relay measured much slower than it advertises loses the route while another neighbour
  // offers one (if that one is infeasible, a seqno request follows, as after a retraction).
  const lying = s.lying(e, now);
  for (const h of e.routes) {
    if (lying.includes(h)) continue;
    const hm = s.total(h, now);
    // Keeping the current next hop is safe even if its metric grew: its FD is below ours.
    const ok = h === cur ? h.advert.seq >= e.fdSeq && hm < Infinity : feasible(e, h.advert.seq, h.metricMs);
    if (!ok) continue;
    if (h === cur) curM = hm;
    if (hm < m) { r = h; m = hm; }
  }
  if (curM < Infinity && r !== cur && m > curM - s.cfg.switchMargin) return { r: cur, m: curM };
  return { r, m };
}

/**
 * A metric change alone (same next hop, same seq) is urgent, i.e. worth a triggered update of
 * its own, only past this many ms and this fraction of the announced metric; a smaller one waits
 * for the next update that goes out anyway (another change, or the periodic dump). Link-cost
 * noise on a busy machine otherwise rippled through the whole mesh as triggered updates: in a
 * 20-node idle cluster ~8 times the frames of the periodic dumps.
 */
const URGENT_METRIC_MS = 10;
const URGENT_METRIC_FRACTION = 0.5;

/** Pick the best feasible route; mark the origin for a triggered update if that changed meaningfully. */
export function reselect(s: TableState, e: OriginEntry, now: number): boolean {
  const cur = e.selected;
  const { r, m } = best(s, e, now);
  e.selected = r;
  if (r === undefined) {
    if (e.routes.length > 0 && !s.seqnoWanted.has(e)) {
      e.seqnoAt = now;
      e.seqnoTries = 0;
      s.seqnoWanted.add(e);
    }
    if (cur === undefined) return false;
    s.urgentChange = true;
    e.announcedMetric = Infinity;
    e.logPos = s.log.push(e.origin);
    s.bound(e);
    return true;
  }
  s.seqnoWanted.delete(e);
  lowerFd(e, r.advert.seq, m);
  const delta = Math.abs(m - e.announcedMetric);
  const sameRoute = r === cur && r.advert.seq === e.announcedSeq;
  const unannounced = !Number.isFinite(e.announcedMetric);
  if (sameRoute && !unannounced && delta <= Math.max(1, s.cfg.significant * e.announcedMetric)) return false;
  if (!sameRoute || unannounced || delta > Math.max(URGENT_METRIC_MS, URGENT_METRIC_FRACTION * e.announcedMetric)) s.urgentChange = true;
  e.announcedMetric = m;
  e.announcedSeq = r.advert.seq;
  e.logPos = s.log.push(e.origin);
  s.bound(e);
  return true;
}

export function removeRoute(s: TableState, e: OriginEntry, i: number, now: number): void {
  const [r] = e.routes.splice(i, 1);
  s.routeCount--;
  const n = r === undefined ? undefined : s.neighbours.get(r.neighbour);
  if (n !== undefined) n.routes--;
  if (e.routes.length === 0) {
    s.liveOrigins--;
    e.idleSince = now;
    s.nextCollect = Math.min(s.nextCollect, now + s.cfg.holdMs);
  }
}
