// Dynamic batching for one raw model, as Triton's dynamic batcher does: requests with the same
// shape signature wait briefly in a queue and run as one ORT call, stacked along each tensor's
// batch axis (dim 0 unless `batching.axes` says otherwise), and each gets its own rows back. A group is dispatched once it holds maxBatchSize rows or its oldest
// request has waited maxQueueDelayUs; the batch then waits for one slot of the model's limiter
// (a batch occupies one run slot) and takes everything of its group that fits at that moment.
// A request may leave the queue (deadline, abort) until its batch is dispatched.
import { InjectedFaultError, ShuttingDownError } from '../errors.ts';
import { createAdmission, type Admission, type AdmissionClock } from './admission.ts';
import { createBatchRecorder, type BatchListener, type BatchRecorder, type BatchStats } from './batch-stats.ts';
import { axisLookup, requestRows, shapeKey, splitOutputs, stackInputs, type AxisOf } from './batch-tensors.ts';
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
  return new DynamicBatcher(init);
}

class DynamicBatcher implements Batcher {
  readonly #init: BatcherInit;
  readonly #model: string;
  readonly #maxBatchSize: number;
  readonly #delayMs: number;
  readonly #random: () => number;
  readonly #axisOf: AxisOf;
  readonly #recorder: BatchRecorder;
  readonly #admission: Admission;
  readonly #groups = new Map<string, Group>();
  #pending = 0;
  #waitingForSlot = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #soloSeq = 0;

  constructor(init: BatcherInit) {
    const { model, limiter } = init;
    this.#init = init;
    this.#model = model;
    this.#maxBatchSize = init.batching.maxBatchSize;
    this.#delayMs = init.batching.maxQueueDelayUs / 1000;
    this.#random = init.random ?? Math.random;
    this.#axisOf = axisLookup(init.batching.axes);
    this.#recorder = createBatchRecorder(model, init.batching, init.onBatch);
    this.#admission = createAdmission({
      closed: `model '${model}' is shutting down`,
      cancelled: `request to model '${model}' was cancelled`,
      expired: `deadline passed before model '${model}' could run`,
      full: () => `model '${model}' batch queue is full (${this.#pending} waiting, ${limiter.inFlight} batches running)`,
      cancelledWaiting: `request to model '${model}' was cancelled while queued`,
      expiredWaiting: `deadline passed while queued for a batch of model '${model}'`,
    }, init.clock);
  }

  get pending(): number { return this.#pending; }
  get waitingForSlot(): number { return this.#waitingForSlot ? 1 : 0; }
  stats(): BatchStats { return this.#recorder.snapshot(); }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#failAll(new ShuttingDownError(`model '${this.#model}' is shutting down`));
  }

  submit(inputs: readonly Tensor[], outputNames: readonly string[], opts: RunOptions = {}): Promise<Tensor[]> {
    const refused = this.#admission.refuse(opts, { closed: this.#closed, full: this.#pending >= this.#init.maxQueue });
    if (refused !== undefined) return Promise.reject(refused);
    const rows = requestRows(inputs, this.#axisOf);
    const key = rows === undefined ? undefined : shapeKey(inputs, outputNames, this.#axisOf);
    return new Promise<Tensor[]>((resolve, reject) => {
      const p: Pending = {
        inputs, outputNames,
        // Inputs that disagree on the batch axis (or a shared input too large to compare)
        // cannot be stacked: such a request runs alone, at once.
        rows: rows !== undefined && key !== undefined ? rows : this.#maxBatchSize,
        key: key ?? `solo:${this.#soloSeq++}`,
        enqueuedAt: performance.now(),
        ...(opts.trace === undefined ? {} : { trace: opts.trace }),
        ...(opts.phases === undefined ? {} : { phases: opts.phases }),
        resolve, reject,
        detach: this.#admission.watch(opts, (e) => {
          if (!this.#remove(p)) return;
          reject(e);
          this.#pump(); // its group may have changed which timer is next
        }),
      };
      let g = this.#groups.get(p.key);
      if (g === undefined) {
        g = { items: [], rows: 0 };
        this.#groups.set(p.key, g);
      }
      g.items.push(p);
      g.rows += p.rows;
      this.#pending++;
      this.#pump();
    });
  }

  #remove(p: Pending): boolean {
    const g = this.#groups.get(p.key);
    const i = g?.items.indexOf(p) ?? -1;
    if (g === undefined || i < 0) return false;
    g.items.splice(i, 1);
    g.rows -= p.rows;
    if (g.items.length === 0) this.#groups.delete(p.key);
    this.#pending--;
    return true;
  }

  /** The group to dispatch now: full, or its head waited long enough; oldest head first. */
  #readyGroup(now: number): Group | undefined {
    let best: Group | undefined;
    for (const g of this.#groups.values()) {
      const head = g.items[0];
      if (head === undefined) continue;
      if (g.rows < this.#maxBatchSize && now - head.enqueuedAt < this.#delayMs) continue;
      if (best === undefined || head.enqueuedAt < (best.items[0]?.enqueuedAt ?? Infinity)) best = g;
    }
    return best;
  }

  #schedule(now: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    let next = Infinity;
    for (const g of this.#groups.values()) next = Math.min(next, (g.items[0]?.enqueuedAt ?? Infinity) + this.#delayMs);
    if (next === Infinity) return;
    this.#timer = setTimeout(() => { this.#timer = undefined; this.#pump(); }, Math.max(0, next - now));
  }

  #pump(): void {
    if (this.#closed || this.#waitingForSlot) return;
    const now = performance.now();
    if (this.#readyGroup(now) === undefined) {
      this.#schedule(now);
      return;
    }
    this.#waitingForSlot = true;
    this.#init.limiter.acquire({ bypassQueueLimit: true }).then((release) => {
      this.#waitingForSlot = false;
      // Requests may have left or arrived while we waited: choose again, with what is there now.
      const g = this.#closed ? undefined : this.#readyGroup(performance.now());
      if (g === undefined) {
        release();
      } else {
        void this.#dispatch(g).finally(release);
      }
      this.#pump();
    }, (e: unknown) => {
      this.#waitingForSlot = false;
      this.#failAll(e);
    });
  }

  #take(g: Group): Pending[] {
    const batch: Pending[] = [];
    let rows = 0;
    for (const p of g.items) {
      if (batch.length > 0 && rows + p.rows > this.#maxBatchSize) break;
      batch.push(p);
      rows += p.rows;
    }
    for (const p of batch) {
      this.#remove(p);
      p.detach();
    }
    return batch;
  }

  async #dispatch(g: Group): Promise<void> {
    const batch = this.#take(g);
    if (batch.length === 0) return;
    const d0 = performance.now();
    try {
      const { fault } = this.#init;
      if (fault !== undefined && fault.delayMs > 0) await applyFault(this.#model, { delayMs: fault.delayMs, errorRate: 0 }, {});
      const faultMs = performance.now() - d0;
      const live = this.#injectErrors(batch);
      if (live.length === 0) return;
      const rows = live.map((p) => p.rows);
      this.#recorder.record(rows.reduce((a, b) => a + b, 0));
      await this.#run(live, rows, d0, faultMs);
    } catch (e) {
      // One run served them all, so its failure is every request's failure.
      for (const p of batch) p.reject(e);
    }
  }

  /** The batch's requests that the configured errorRate spares; the others are failed here. */
  #injectErrors(batch: Pending[]): Pending[] {
    const errorRate = this.#init.fault?.errorRate ?? 0;
    if (errorRate <= 0) return batch;
    return batch.filter((p) => {
      if (this.#random() >= errorRate) return true;
      p.reject(new InjectedFaultError(`injected fault for model '${this.#model}' (errorRate ${errorRate})`));
      return false;
    });
  }

  /** One ORT call on the held slot: a lone request as it is, several stacked and split again. */
  async #run(live: readonly Pending[], rows: readonly number[], dispatchedAt: number, faultMs: number): Promise<void> {
    const { runHeld } = this.#init;
    const c0 = performance.now();
    const first = live[0] as Pending;
    if (live.length === 1) {
      const out = await runHeld(first.inputs, first.outputNames, faultMs);
      this.#traceBatch(live, dispatchedAt, c0, rows[0] ?? 0);
      first.resolve(out);
      return;
    }
    const stacked = stackInputs(live.map((p) => p.inputs), this.#axisOf);
    const s1 = performance.now();
    const outputs = await runHeld(stacked, first.outputNames, faultMs);
    const s2 = performance.now();
    const split = splitOutputs(this.#model, outputs, rows, this.#axisOf);
    const s3 = performance.now();
    for (const p of live) {
      if (p.phases === undefined) continue;
      p.phases.inputMs += s1 - c0;
      p.phases.outputMs += s3 - s2;
    }
    this.#traceBatch(live, dispatchedAt, c0, rows.reduce((a, b) => a + b, 0));
    live.forEach((p, k) => p.resolve(split[k] ?? []));
  }

  /** Each traced request's queue wait, its batch (size in rows) and the batch's compute. */
  #traceBatch(live: readonly Pending[], dispatchedAt: number, computeAt: number, size: number): void {
    const end = performance.now();
    const model = this.#model;
    for (const p of live) {
      if (p.trace === undefined) continue;
      p.trace.phase('plexus.queue_wait', p.enqueuedAt, dispatchedAt, { 'plexus.model': model });
      p.trace.phase('plexus.batch', dispatchedAt, end, { 'plexus.model': model, 'plexus.batch_size': size, 'plexus.batch_requests': live.length })
        .phase('plexus.compute', computeAt, end, { 'plexus.model': model });
    }
  }

  #failAll(e: unknown): void {
    for (const g of [...this.#groups.values()]) {
      for (const p of [...g.items]) {
        this.#remove(p);
        p.detach();
        p.reject(e);
      }
    }
  }
}
