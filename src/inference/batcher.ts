// Dynamic batching for one raw model, as Triton's dynamic batcher does: requests with the same
// shape signature wait briefly in a queue and run as one ORT call, stacked along dim 0, and each
// gets its own rows back. A group is dispatched once it holds maxBatchSize rows or its oldest
// request has waited maxQueueDelayUs; the batch then waits for one slot of the model's limiter
// (a batch occupies one run slot) and takes everything of its group that fits at that moment.
// A request may leave the queue (deadline, abort) until its batch is dispatched.
import { InjectedFaultError, ShuttingDownError } from '../errors.ts';
import { createAdmission, type AdmissionClock } from './admission.ts';
import { createBatchRecorder, type BatchListener, type BatchStats } from './batch-stats.ts';
import { requestRows, shapeKey, splitOutputs, stackInputs } from './batch-tensors.ts';
import type { BatchingSpec, FaultSpec } from './config.ts';
import { applyFault } from './fault.ts';
import type { RunLimiter } from './run-limiter.ts';
import type { RunOptions, RunPhases } from './run-phases.ts';
import type { TraceSpan } from '../trace.ts';
import type { Tensor } from './types.ts';

export interface BatcherInit {
  readonly model: string;
  readonly batching: BatchingSpec;
  /** Requests waiting to be dispatched; more are refused with QueueFullError. */
  readonly maxQueue: number;
  readonly limiter: RunLimiter;
  /** Runs on a slot the batcher holds. */
  readonly runHeld: (inputs: readonly Tensor[], outputNames: readonly string[], faultMs?: number) => Promise<Tensor[]>;
  /** Applied once per batch on its slot (delay), and per request (errorRate). */
  readonly fault?: FaultSpec;
  readonly onBatch?: BatchListener;
  readonly random?: () => number;
  /** Deadlines of waiting requests (tests pass a fake clock). */
  readonly clock?: AdmissionClock;
}

export interface Batcher {
  submit(inputs: readonly Tensor[], outputNames: readonly string[], opts?: RunOptions): Promise<Tensor[]>;
  /** Requests waiting in the batch queue (not yet dispatched). */
  readonly pending: number;
  /** Batches waiting in the limiter's queue for a slot (0 or 1). */
  readonly waitingForSlot: number;
  stats(): BatchStats;
  /** Fail waiting requests with ShuttingDownError and stop dispatching. */
  close(): void;
}

interface Pending {
  readonly inputs: readonly Tensor[];
  readonly outputNames: readonly string[];
  readonly rows: number;
  readonly key: string;
  readonly enqueuedAt: number;
  readonly trace?: TraceSpan;
  /** Stacking into and splitting out of its batch count as its input and output preparation. */
  readonly phases?: RunPhases;
  resolve(outputs: Tensor[]): void;
  reject(e: unknown): void;
  /** Detach deadline timer and abort listener. */
  detach(): void;
}

interface Group {
  readonly items: Pending[];
  rows: number;
}

export function createBatcher(init: BatcherInit): Batcher {
  const { model, limiter, runHeld } = init;
  const { maxBatchSize } = init.batching;
  const delayMs = init.batching.maxQueueDelayUs / 1000;
  const random = init.random ?? Math.random;
  const recorder = createBatchRecorder(model, init.batching, init.onBatch);
  const groups = new Map<string, Group>();
  let pending = 0;
  let waitingForSlot = false;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let soloSeq = 0;
  const admission = createAdmission({
    closed: `model '${model}' is shutting down`,
    cancelled: `request to model '${model}' was cancelled`,
    expired: `deadline passed before model '${model}' could run`,
    full: () => `model '${model}' batch queue is full (${pending} waiting, ${limiter.inFlight} batches running)`,
    cancelledWaiting: `request to model '${model}' was cancelled while queued`,
    expiredWaiting: `deadline passed while queued for a batch of model '${model}'`,
  }, init.clock);

  function remove(p: Pending): boolean {
    const g = groups.get(p.key);
    const i = g?.items.indexOf(p) ?? -1;
    if (g === undefined || i < 0) return false;
    g.items.splice(i, 1);
    g.rows -= p.rows;
    if (g.items.length === 0) groups.delete(p.key);
    pending--;
    return true;
  }

  /** The group to dispatch now: full, or its head waited long enough; oldest head first. */
  function readyGroup(now: number): Group | undefined {
    let best: Group | undefined;
    for (const g of groups.values()) {
      const head = g.items[0];
      if (head === undefined) continue;
      if (g.rows < maxBatchSize && now - head.enqueuedAt < delayMs) continue;
      if (best === undefined || head.enqueuedAt < (best.items[0]?.enqueuedAt ?? Infinity)) best = g;
    }
    return best;
  }

  function schedule(now: number): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    let next = Infinity;
    for (const g of groups.values()) next = Math.min(next, (g.items[0]?.enqueuedAt ?? Infinity) + delayMs);
    if (next === Infinity) return;
    timer = setTimeout(() => { timer = undefined; pump(); }, Math.max(0, next - now));
  }

  function pump(): void {
    if (closed || waitingForSlot) return;
    const now = performance.now();
    if (readyGroup(now) === undefined) {
      schedule(now);
      return;
    }
    waitingForSlot = true;
    limiter.acquire({ bypassQueueLimit: true }).then((release) => {
      waitingForSlot = false;
      // Requests may have left or arrived while we waited: choose again, with what is there now.
      const g = closed ? undefined : readyGroup(performance.now());
      if (g === undefined) {
        release();
      } else {
        void dispatch(g).finally(release);
      }
      pump();
    }, (e: unknown) => {
      waitingForSlot = false;
      failAll(e);
    });
  }

  function take(g: Group): Pending[] {
    const batch: Pending[] = [];
    let rows = 0;
    for (const p of g.items) {
      if (batch.length > 0 && rows + p.rows > maxBatchSize) break;
      batch.push(p);
      rows += p.rows;
    }
    for (const p of batch) {
      remove(p);
      p.detach();
    }
    return batch;
  }

  async function dispatch(g: Group): Promise<void> {
    const batch = take(g);
    const first = batch[0];
    if (first === undefined) return;
    const d0 = performance.now();
    try {
      const f0 = d0;
      if (init.fault !== undefined && init.fault.delayMs > 0) await applyFault(model, { delayMs: init.fault.delayMs, errorRate: 0 }, {});
      const faultMs = performance.now() - f0;
      const errorRate = init.fault?.errorRate ?? 0;
      const live = errorRate > 0 ? batch.filter((p) => {
        if (random() >= errorRate) return true;
        p.reject(new InjectedFaultError(`injected fault for model '${model}' (errorRate ${errorRate})`));
        return false;
      }) : batch;
      if (live.length === 0) return;
      const rows = live.map((p) => p.rows);
      recorder.record(rows.reduce((a, b) => a + b, 0));
      const c0 = performance.now();
      if (live.length === 1) {
        const only = live[0] as Pending;
        const out = await runHeld(only.inputs, only.outputNames, faultMs);
        traceBatch(live, d0, c0, rows[0] ?? 0);
        only.resolve(out);
        return;
      }
      const stacked = stackInputs(live.map((p) => p.inputs));
      const s1 = performance.now();
      const outputs = await runHeld(stacked, first.outputNames, faultMs);
      const s2 = performance.now();
      const split = splitOutputs(model, outputs, rows);
      const s3 = performance.now();
      for (const p of live) {
        if (p.phases === undefined) continue;
        p.phases.inputMs += s1 - c0;
        p.phases.outputMs += s3 - s2;
      }
      traceBatch(live, d0, c0, rows.reduce((a, b) => a + b, 0));
      live.forEach((p, k) => p.resolve(split[k] ?? []));
    } catch (e) {
      // One run served them all, so its failure is every request's failure.
      for (const p of batch) p.reject(e);
    }
  }

  /** Each traced request's queue wait, its batch (size in rows) and the batch's compute. */
  function traceBatch(live: readonly Pending[], dispatchedAt: number, computeAt: number, size: number): void {
    const end = performance.now();
    for (const p of live) {
      if (p.trace === undefined) continue;
      p.trace.phase('plexus.queue_wait', p.enqueuedAt, dispatchedAt, { 'plexus.model': model });
      p.trace.phase('plexus.batch', dispatchedAt, end, { 'plexus.model': model, 'plexus.batch_size': size, 'plexus.batch_requests': live.length })
        .phase('plexus.compute', computeAt, end, { 'plexus.model': model });
    }
  }

  function failAll(e: unknown): void {
    for (const g of [...groups.values()]) {
      for (const p of [...g.items]) {
        remove(p);
        p.detach();
        p.reject(e);
      }
    }
  }

  function submit(inputs: readonly Tensor[], outputNames: readonly string[], opts: RunOptions = {}): Promise<Tensor[]> {
    const refused = admission.refuse(opts, { closed, full: pending >= init.maxQueue });
    if (refused !== undefined) return Promise.reject(refused);
    const rows = requestRows(inputs);
    return new Promise<Tensor[]>((resolve, reject) => {
      const p: Pending = {
        inputs, outputNames,
        // Inputs that disagree on dim 0 cannot be stacked: such a request runs alone, at once.
        rows: rows ?? maxBatchSize,
        key: rows === undefined ? `solo:${soloSeq++}` : shapeKey(inputs, outputNames),
        enqueuedAt: performance.now(),
        ...(opts.trace === undefined ? {} : { trace: opts.trace }),
        ...(opts.phases === undefined ? {} : { phases: opts.phases }),
        resolve, reject,
        detach: admission.watch(opts, (e) => {
          if (!remove(p)) return;
          reject(e);
          pump(); // its group may have changed which timer is next
        }),
      };
      let g = groups.get(p.key);
      if (g === undefined) {
        g = { items: [], rows: 0 };
        groups.set(p.key, g);
      }
      g.items.push(p);
      g.rows += p.rows;
      pending++;
      pump();
    });
  }

  return {
    submit,
    get pending() { return pending; },
    get waitingForSlot() { return waitingForSlot ? 1 : 0; },
    stats: () => recorder.snapshot(),
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      failAll(new ShuttingDownError(`model '${model}' is shutting down`));
    },
  };
}
