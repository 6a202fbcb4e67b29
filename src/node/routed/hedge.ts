// Hedged request (The Tail at Scale): the best route first; when it has not answered within
// hedgeMs (or failed retryably), the next best provider too. The first answer wins and the
// other try is cancelled, so a hedge costs at most one extra run. HedgeRace decides; runHedged
// drives it with the dispatcher's try and a timer.
import { CancelledError } from '../../errors.ts';
import type { RouteCandidate } from '../../routing/types.ts';
import { isRetryable } from './checks.ts';

/** What to do after a try of the race failed. */
export type HedgeFailure = 'launch-second' | 'reject' | 'wait';

/** The decisions of one hedged query: when the second try starts, which outcome settles it. */
export class HedgeRace {
  #running = 0;
  #launchedSecond = false;
  #settled = false;

  get launchedSecond(): boolean {
    return this.#launchedSecond;
  }

  get settled(): boolean {
    return this.#settled;
  }

  launched(): void {
    this.#running++;
  }

  /** The hedge timer fired (or the first try failed retryably): whether to start the second try now. */
  secondDue(now: number, deadline: number): boolean {
    if (this.#settled || this.#launchedSecond || deadline - now <= 0) return false;
    this.#launchedSecond = true;
    return true;
  }

  /** A try answered: whether it wins (the first answer does). */
  answered(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    return true;
  }

  /** A try failed with `e`: start the second now, reject the query, or wait for the other try. */
  failed(e: unknown, now: number, deadline: number): HedgeFailure {
    this.#running--;
    if (this.#settled) return 'wait';
    if (isRetryable(e) && !this.#launchedSecond && this.secondDue(now, deadline)) return 'launch-second';
    if (!isRetryable(e) || this.#running === 0) {
      this.#settled = true;
      return 'reject';
    }
    return 'wait';
  }
}

export interface HedgeInit<T> {
  readonly queryId: string;
  readonly first: RouteCandidate;
  readonly second: RouteCandidate;
  readonly hedgeMs: number;
  readonly deadline: number;
  /** The caller's signal: aborting it cancels both tries. */
  readonly signal?: AbortSignal | undefined;
  readonly clock?: (() => number) | undefined;
  /** Try `cand` as try `k` (0 first, 1 the hedge), cancelled through `signal`. */
  attempt(cand: RouteCandidate, k: 0 | 1, signal: AbortSignal): Promise<T>;
  /** The winning answer, marked as hedged when the second try was started. */
  mark(res: T, hedged: boolean): T;
}

export function runHedged<T>(init: HedgeInit<T>): Promise<T> {
  const now = init.clock ?? Date.now;
  const race = new HedgeRace();
  const ctls = [new AbortController(), new AbortController()] as const;
  const onCallerAbort = (): void => { for (const c of ctls) c.abort(new CancelledError(`query ${init.queryId} was cancelled`)); };
  init.signal?.addEventListener('abort', onCallerAbort, { once: true });
  return new Promise<T>((resolve, reject) => {
    const finish = (winner: number | undefined): void => {
      clearTimeout(timer);
      init.signal?.removeEventListener('abort', onCallerAbort);
      ctls.forEach((c, k) => { if (k !== winner) c.abort(new CancelledError(`query ${init.queryId}: the hedged twin answered first`)); });
    };
    const launch = (cand: RouteCandidate, k: 0 | 1): void => {
      race.launched();
      init.attempt(cand, k, ctls[k].signal).then((res) => {
        if (!race.answered()) return;
        finish(k);
        resolve(init.mark(res, race.launchedSecond));
      }, (e: unknown) => {
        const next = race.failed(e, now(), init.deadline);
        if (next === 'launch-second') launch(init.second, 1);
        else if (next === 'reject') { finish(undefined); reject(e instanceof Error ? e : new Error(String(e))); }
      });
    };
    const timer = setTimeout(() => { if (race.secondDue(now(), init.deadline)) launch(init.second, 1); }, init.hedgeMs);
    launch(init.first, 0);
  });
}
