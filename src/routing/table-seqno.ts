// The seqno-request side of RFC 8966 (§3.8.1) in the routing table: origins lost with only
// infeasible routes left ask the neighbour with the best of them for a newer seq (repeated
// with backoff), and a request that arrives is answered, forwarded toward the origin, or
// dropped. Operates on the table's state; the routes protocol sends (src/routing/routes-seqno.ts).
import type { TableState } from './table-state.ts';
import type { HeardRoute } from './table-state.ts';
import type { PeerIdString } from './types.ts';

/** A seqno request unanswered after this long is sent again, backing off to SEQNO_RETRY_MAX_MS. */
const SEQNO_RETRY_MS = 500;
const SEQNO_RETRY_MAX_MS = 16_000;

/** A seqno request (RFC 8966 §3.8.1) to send: ask `to` for a newer seq of `origin`. */
export interface SeqnoRequest {
  readonly origin: PeerIdString;
  readonly seq: number;
  readonly to: PeerIdString;
}

export type SeqnoAction =
  | { readonly kind: 'bumped' }            // we are the origin and issued a newer seq: flush updates
  | { readonly kind: 'answered' }          // we have the seq: our next updates carry it
  | { readonly kind: 'forward'; readonly to: PeerIdString }
  | { readonly kind: 'drop' };

/** Origins lost with only infeasible routes left: ask the neighbour with the best of them for a newer seq. */
export function takeSeqnoRequests(s: TableState, now: number): SeqnoRequest[] {
  const out: SeqnoRequest[] = [];
  for (const e of s.seqnoWanted) {
    if (e.selected !== undefined || e.routes.length === 0 || s.origins.get(e.origin) !== e) {
      s.seqnoWanted.delete(e);
      continue;
    }
    if (now < e.seqnoAt) continue;
    e.seqnoAt = now + Math.min(SEQNO_RETRY_MAX_MS, SEQNO_RETRY_MS * 2 ** e.seqnoTries);
    e.seqnoTries++;
    let best: HeardRoute | undefined;
    let bestM = Infinity;
    // Ask a neighbour whose route we would take, not one measured lying about its metric.
    const lying = s.lying(e, now);
    for (const r of e.routes) {
      if (lying.includes(r)) continue;
      const m = s.total(r, now);
      if (m < bestM) { best = r; bestM = m; }
    }
    if (best !== undefined) out.push({ origin: e.origin, seq: e.fdSeq + 1, to: best.neighbour });
  }
  return out;
}

/** Handle a seqno request from a neighbour; the caller sends, forwards (bounded hops) or drops. */
export function onSeqnoRequest(s: TableState, from: PeerIdString, origin: PeerIdString, seq: number, now: number): SeqnoAction {
  if (origin === s.self) {
    if (s.local === undefined) return { kind: 'drop' };
    if (s.local.seq < seq) s.setLocal(s.localModels, Math.max(now, seq));
    else s.localLogPos = s.log.push(s.self);
    return { kind: 'bumped' };
  }
  const e = s.origins.get(origin);
  if (e?.selected === undefined) return { kind: 'drop' };
  if (e.selected.advert.seq >= seq) {
    e.logPos = s.log.push(e.origin);
    return { kind: 'answered' };
  }
  if (e.selected.neighbour === from) return { kind: 'drop' };
  return { kind: 'forward', to: e.selected.neighbour };
}
