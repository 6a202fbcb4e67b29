// Per-model concurrency limit with a bounded FIFO queue. A full queue refuses at once
// (QueueFullError) so routing can go elsewhere; a waiter whose deadline passes or whose signal
// aborts leaves the queue without ever taking a slot.
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
  resolve(release: Release): void;
  reject(e: Error): void;
  /** Detach its deadline timer and abort listener. */
  cleanup(): void;
}

/** `onGranted` sees how long each granted acquire waited for its slot, ms (0 when one was free): a metrics hook. */
export function createRunLimiter(name: string, maxConcurrent: number, maxQueue: number, onGranted?: (waitMs: number) => void, clock?: AdmissionClock): RunLimiter {
  let inFlight = 0;
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

  function makeRelease(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      inFlight--;
      const next = waiters.shift();
      if (next !== undefined) {
        next.cleanup();
        inFlight++;
        next.resolve(makeRelease());
      } else if (inFlight === 0 && onIdle !== undefined) {
        onIdle();
      }
    };
  }

  function acquire(opts: AcquireOptions = {}): Promise<Release> {
    const free = inFlight < maxConcurrent;
    const refused = admission.refuse(opts, { closed, full: !free && waiters.length >= maxQueue && opts.bypassQueueLimit !== true });
    if (refused !== undefined) return Promise.reject(refused);
    if (free) {
      inFlight++;
      onGranted?.(0);
      return Promise.resolve(makeRelease());
    }
    const queuedAt = performance.now();
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
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
