// Per-model concurrency limit with a bounded FIFO queue. A full queue refuses at once
// (QueueFullError) so routing can go elsewhere; a waiter whose deadline passes or whose signal
// aborts leaves the queue without ever taking a slot. `ahead` more slots serve only acquires
// that ask for one (`ahead: true`: single runs handed to a worker before it is free, see
// ort-model.ts); they count as queued, so the model still holds at most maxConcurrent +
// maxQueue requests, and an adapter holding a slot for a whole request never gets one.
import { ShuttingDownError } from '../errors.ts';
import type { TraceSpan } from '../trace.ts';
import { createAdmission, type AdmissionClock } from './admission.ts';

export interface AcquireOptions {
  /** Absolute deadline, epoch ms. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /**
   * Wait even when the queue is full. Only for batchers: their requests are already bounded by
   * their own queue, and one waiter stands for a whole batch.
   */
  readonly bypassQueueLimit?: boolean;
  /** The request's span: runs report queue wait, batch and compute under it (tracing; absent when off). */
  readonly trace?: TraceSpan;
  /** A single run that may take one of the limiter's `ahead` slots. */
  readonly ahead?: boolean;
}

export type Release = () => void;

export interface RunLimiter {
  /** Resolves with a release function once a slot is free. */
  acquire(opts?: AcquireOptions): Promise<Release>;
  readonly inFlight: number;
  readonly queued: number;
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  /** Refuse new work (ShuttingDownError) and fail queued waiters; resolves when in-flight runs finish. */
  drain(): Promise<void>;
}

interface Waiter {
  readonly ahead: boolean;
  resolve(release: Release): void;
  reject(e: Error): void;
  /** Detach its deadline timer and abort listener. */
  cleanup(): void;
}

export interface RunLimiterOptions {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  /** Slots only `ahead` acquires take, out of maxQueue (default 0). */
  readonly ahead?: number;
  /** How long each granted acquire waited for its slot, ms (0 when one was free): a metrics hook. */
  readonly onGranted?: (waitMs: number) => void;
  readonly clock?: AdmissionClock;
}

export function createRunLimiter(name: string, options: RunLimiterOptions): RunLimiter {
  const { maxConcurrent, maxQueue, onGranted, clock } = options;
  const ahead = Math.min(options.ahead ?? 0, maxQueue);
  let inFlight = 0;
  /** Slots held by acquires without `ahead` (an adapter's whole request, a batch). */
  let held = 0;
  /**
   * A slot for this kind of acquire now; FIFO: only the head waiter is ever granted. Ahead slots
   * stack runs behind runs only: while anything holds a slot for longer, runs wait as before.
   */
  const fits = (isAhead: boolean): boolean => inFlight < maxConcurrent || (isAhead && held === 0 && inFlight < maxConcurrent + ahead);
  /** Waiting, plus runs in ahead slots (they wait in the worker). */
  const queueUse = (): number => waiters.length + Math.max(0, inFlight - maxConcurrent);
  let closed = false;
  const waiters: Waiter[] = [];
  let onIdle: (() => void) | undefined;
  const admission = createAdmission({
    closed: `model '${name}' is shutting down`,
    cancelled: `request to model '${name}' was cancelled`,
    expired: `deadline passed before model '${name}' could run`,
    full: () => `model '${name}' queue is full (${maxQueue} waiting, ${inFlight} running)`,
    cancelledWaiting: `request to model '${name}' was cancelled while queued`,
    expiredWaiting: `deadline passed while queued for model '${name}'`,
  }, clock);

  function makeRelease(isAhead: boolean): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      inFlight--;
      if (!isAhead) held--;
      const next = waiters[0] !== undefined && fits(waiters[0].ahead) ? waiters.shift() : undefined;
      if (next !== undefined) {
        next.cleanup();
        take(next.ahead);
        next.resolve(makeRelease(next.ahead));
      } else if (inFlight === 0 && waiters.length === 0 && onIdle !== undefined) {
        onIdle();
      }
    };
  }

  function take(isAhead: boolean): void {
    inFlight++;
    if (!isAhead) held++;
  }

  function acquire(opts: AcquireOptions = {}): Promise<Release> {
    const isAhead = opts.ahead === true;
    const free = waiters.length === 0 && fits(isAhead);
    const refused = admission.refuse(opts, { closed, full: !free && queueUse() >= maxQueue && opts.bypassQueueLimit !== true });
    if (refused !== undefined) return Promise.reject(refused);
    if (free) {
      take(isAhead);
      onGranted?.(0);
      return Promise.resolve(makeRelease(isAhead));
    }
    const queuedAt = performance.now();
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        ahead: isAhead,
        resolve: (release) => { onGranted?.(performance.now() - queuedAt); resolve(release); },
        reject,
        cleanup: admission.watch(opts, (e) => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(e);
        }),
      };
      waiters.push(waiter);
    });
  }

  function drain(): Promise<void> {
    closed = true;
    for (const w of waiters.splice(0)) {
      w.cleanup();
      w.reject(new ShuttingDownError(`model '${name}' is shutting down`));
    }
    if (inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => { onIdle = resolve; });
  }

  return {
    acquire, drain,
    get inFlight() { return inFlight; },
    get queued() { return waiters.length; },
    maxConcurrent, maxQueue,
  };
}
