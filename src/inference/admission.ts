// The one admission primitive of inference's queues (run limiter, dynamic batcher, VAD step
// group): whether a request may wait at all (closed, cancelled, past its deadline, queue full:
// in this order), and, while it waits, its deadline timer and abort listener, which call the
// queue's `leave` once and are detached whichever way the wait ends. Each queue keeps its own
// data structure and its own words; the error kinds are the same for all.
import { CancelledError, DeadlineExceededError, QueueFullError, ShuttingDownError, type PlexusError } from '../errors.ts';

/** Time as admission sees it; tests pass a fake one. */
export interface AdmissionClock {
  /** Epoch ms (request deadlines are epoch ms). */
  now(): number;
  /** Calls fn after ms; returns a function that cancels the call. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: AdmissionClock = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => { clearTimeout(t); };
  },
};

export interface AdmissionRequest {
  /** Absolute deadline, epoch ms. */
  readonly deadline?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** One queue's error messages. */
export interface AdmissionTexts {
  readonly closed: string;
  readonly cancelled: string;
  readonly expired: string;
  /** Called when the queue is full, so it can name its current numbers. */
  readonly full: () => string;
  readonly cancelledWaiting: string;
  readonly expiredWaiting: string;
}

export interface Admission {
  /** Why a request may not wait: ShuttingDown, Cancelled, DeadlineExceeded or QueueFull; undefined = it may. */
  refuse(req: AdmissionRequest, state: { readonly closed: boolean; readonly full: boolean }): PlexusError | undefined;
  /**
   * Watch a waiting request: `leave` is called at most once, with DeadlineExceeded when its
   * deadline passes or Cancelled when its signal aborts. Returns `detach` (idempotent), which the
   * queue calls when the wait ends otherwise (granted, closed); leaving detaches by itself.
   */
  watch(req: AdmissionRequest, leave: (e: PlexusError) => void): () => void;
}

export function createAdmission(texts: AdmissionTexts, clock: AdmissionClock = systemClock): Admission {
  return {
    refuse(req, state) {
      if (state.closed) return new ShuttingDownError(texts.closed);
      if (req.signal?.aborted === true) return new CancelledError(texts.cancelled);
      if (req.deadline !== undefined && clock.now() >= req.deadline) return new DeadlineExceededError(texts.expired);
      if (state.full) return new QueueFullError(texts.full());
      return undefined;
    },
    watch(req, leave) {
      let cancelTimer: (() => void) | undefined;
      let attached = true;
      const detach = (): void => {
        if (!attached) return;
        attached = false;
        cancelTimer?.();
        req.signal?.removeEventListener('abort', onAbort);
      };
      const go = (e: PlexusError): void => {
        if (!attached) return;
        detach();
        leave(e);
      };
      const onAbort = (): void => { go(new CancelledError(texts.cancelledWaiting)); };
      if (req.deadline !== undefined) {
        cancelTimer = clock.after(Math.max(0, req.deadline - clock.now()), () => { go(new DeadlineExceededError(texts.expiredWaiting)); });
      }
      req.signal?.addEventListener('abort', onAbort, { once: true });
      return detach;
    },
  };
}
