// Failover at the entry node: candidates are tried in selection order, skipping any whose
// next hop or provider already failed retryably, up to maxAttempts and while the deadline
// allows; when our own link died under the query (UNAVAILABLE), a fresh selection is tried
// once more. The dispatcher supplies the try and the re-selection; this decides the order.
import { CancelledError, DeadlineExceededError, PeerUnavailableError } from '../../errors.ts';
import type { RouteCandidate, Suspect } from '../../routing/types.ts';
import { isRetryable } from './checks.ts';

export interface FailoverInit<T> {
  readonly queryId: string;
  /** Epoch ms the query started and must end by. */
  readonly start: number;
  readonly deadline: number;
  readonly maxAttempts: number;
  readonly signal?: AbortSignal | undefined;
  /** Epoch ms (default Date.now). */
  readonly clock?: (() => number) | undefined;
  /** Try one candidate: `n` counts tries from 1, `last` is the previous try's error. */
  attempt(cand: RouteCandidate, n: number, last: unknown): Promise<T>;
  /** The peer a failed try points at (next hop or provider): it is skipped from then on, in that role. */
  suspectOf(e: unknown, cand: RouteCandidate): Suspect;
  /** A fresh selection after our own link died, or undefined when there is none. */
  reselect(): Promise<readonly RouteCandidate[] | undefined>;
}

/** The state of one query's failover: tries so far, the last error, the peers to skip. */
export class Failover {
  readonly #max: number;
  /** Peers that failed as next hops (dead link, forgery): every candidate through them is skipped. */
  readonly #failedPeers = new Set<string>();
  /** Peers that failed as providers: only their own candidates are skipped. */
  readonly #failedProviders = new Set<string>();
  #tries = 0;
  #last: unknown;

  constructor(maxAttempts: number) {
    this.#max = maxAttempts;
  }

  get tries(): number {
    return this.#tries;
  }

  get last(): unknown {
    return this.#last;
  }

  get exhausted(): boolean {
    return this.#tries >= this.#max;
  }

  /** Whether `cand` goes through a peer, or to a provider, that already failed. */
  skips(cand: RouteCandidate): boolean {
    return this.#failedPeers.has(cand.nextHop) || this.#failedPeers.has(cand.origin) || this.#failedProviders.has(cand.origin);
  }

  /** A try starts: its number. */
  begin(): number {
    return ++this.#tries;
  }

  /** A try failed: whether to go on (retryable; `suspect` is skipped from now on). */
  failed(e: unknown, suspect: Suspect): boolean {
    this.#last = e;
    if (!isRetryable(e)) return false;
    (suspect.role === 'peer' ? this.#failedPeers : this.#failedProviders).add(suspect.peer);
    return true;
  }

  /** After a round: whether a fresh selection is worth it (our link died, tries and time left). */
  reselectWorth(now: number, deadline: number, aborted: boolean): boolean {
    return this.#last instanceof PeerUnavailableError && !this.exhausted && now < deadline && !aborted;
  }

  /** The error when no try succeeded. */
  finalError(queryId: string, start: number, deadline: number, now: number): Error {
    const last = this.#last as Error | undefined;
    if (last === undefined || now >= deadline) {
      return new DeadlineExceededError(`query ${queryId}: deadline of ${deadline - start} ms passed after ${this.#tries} attempt(s)${last === undefined ? '' : `; last error: ${last.message}`}`);
    }
    return last;
  }
}

/** Try candidates one after another while the deadline allows. */
export async function runFailover<T>(candidates: readonly RouteCandidate[], init: FailoverInit<T>): Promise<T> {
  const now = init.clock ?? Date.now;
  const f = new Failover(init.maxAttempts);
  let list = candidates;
  for (let round = 0; round < 2; round++) {
    for (const cand of list) {
      if (f.exhausted) break;
      if (f.skips(cand)) continue;
      if (init.signal?.aborted === true) throw new CancelledError(`query ${init.queryId} was cancelled`);
      if (init.deadline - now() <= 0) break;
      const last = f.last;
      try {
        return await init.attempt(cand, f.begin(), last);
      } catch (e) {
        if (!f.failed(e, init.suspectOf(e, cand))) throw e;
      }
    }
    // Our own link died under the query: the table drops that neighbour at once, so a fresh
    // selection may offer the same provider over another next hop (failed ones are skipped).
    if (!f.reselectWorth(now(), init.deadline, init.signal?.aborted === true)) break;
    const again = await init.reselect();
    if (again === undefined) break;
    list = again;
  }
  throw f.finalError(init.queryId, init.start, init.deadline, now());
}
