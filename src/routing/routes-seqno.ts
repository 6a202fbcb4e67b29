// Seqno requests (RFC 8966 §3.8.1) as the routes protocol handles them, in pure functions the
// protocol core and the simulator share: which requests go to which neighbour, what a request
// that arrives asks of us, and the gate that keeps request storms from becoming re-sign storms.
import type { SeqnoAction, SeqnoRequest } from './table.ts';
import type { SeqnoRequestMsg } from './routes-messages.ts';
import type { PeerIdString } from './types.ts';

/** The table's requests grouped by the neighbour they go to, each allowed `hops` hops. */
export function seqnoRequestsByPeer(requests: readonly SeqnoRequest[], hops: number): Map<PeerIdString, SeqnoRequestMsg[]> {
  const byPeer = new Map<PeerIdString, SeqnoRequestMsg[]>();
  for (const r of requests) {
    const list = byPeer.get(r.to) ?? [];
    list.push({ origin: r.origin, seq: r.seq, hopsLeft: hops });
    byPeer.set(r.to, list);
  }
  return byPeer;
}

/** The request to pass on when the table says forward and hops are left; else undefined. */
export function forwardedRequest(action: SeqnoAction, q: SeqnoRequestMsg): { to: PeerIdString; req: SeqnoRequestMsg } | undefined {
  if (action.kind !== 'forward' || q.hopsLeft <= 1) return undefined;
  return { to: action.to, req: { ...q, hopsLeft: q.hopsLeft - 1 } };
}

/** What a batch of incoming requests asks of us. */
export interface SeqnoReplies {
  /** Our next updates answer some of them: flush soon. */
  flush: boolean;
  /** A request for a newer seq of our own advert: re-sign (through the BumpGate). */
  bump: boolean;
  readonly forward: { to: PeerIdString; req: SeqnoRequestMsg }[];
}

/** Minimal table surface for answering requests. */
export interface SeqnoTable {
  onSeqnoRequest(from: PeerIdString, origin: PeerIdString, seq: number, now: number): SeqnoAction;
}

/**
 * Requests from `from`: for our own origin, a seq we already signed is answered by sending the
 * current advert again, a newer one needs a re-sign; for others, the table answers, forwards
 * toward the origin (one hop less) or drops.
 */
export function answerSeqnoRequests(table: SeqnoTable, self: PeerIdString, ownSeq: number, from: PeerIdString, requests: readonly SeqnoRequestMsg[], now: number): SeqnoReplies {
  const out: SeqnoReplies = { flush: false, bump: false, forward: [] };
  for (const q of requests) {
    if (q.origin === self) {
      if (q.seq <= ownSeq) {
        // A bump since the request was made already answers it: send the current advert again.
        table.onSeqnoRequest(from, self, q.seq, now);
        out.flush = true;
      } else {
        out.bump = true;
      }
      continue;
    }
    const action = table.onSeqnoRequest(from, q.origin, q.seq, now);
    if (action.kind === 'answered') out.flush = true;
    const fwd = forwardedRequest(action, q);
    if (fwd !== undefined) out.forward.push(fwd);
  }
  return out;
}

/**
 * Re-signs for seqno requests: at most one per `minMs`; a request inside that window is
 * answered by one bump at its end, never dropped.
 */
export class BumpGate {
  readonly #minMs: number;
  #pending = false;
  #last = -Infinity;

  constructor(minMs: number) {
    this.#minMs = minMs;
  }

  /** How long to wait before re-signing, or undefined when a bump is already pending. */
  request(now: number): number | undefined {
    if (this.#pending) return undefined;
    this.#pending = true;
    return Math.max(0, this.#last + this.#minMs - now);
  }

  /** The re-sign begins now. */
  started(now: number): void {
    this.#last = now;
  }

  /** The re-sign ended (or was cancelled): the next request may arm another. */
  done(): void {
    this.#pending = false;
  }

  get pending(): boolean {
    return this.#pending;
  }
}
