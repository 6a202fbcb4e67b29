// Dynamic batching for one raw model, as Triton's dynamic batcher does: requests with the same
// shape signature wait briefly in a queue and run as one ORT call, stacked along each tensor's
// batch axis (dim 0 unless `batching.axes` says otherwise), and each gets its own rows back. A
// group is dispatched once it holds maxBatchSize rows or its oldest request has waited
// maxQueueDelayUs; the batch then waits for one slot of the model's limiter (a batch occupies
// one run slot) and takes everything of its group that fits at that moment.
// A request may leave the queue (deadline, abort) until its batch is dispatched. With no wait
// for company, a request that finds nothing queued and a slot free skips the queue. One batch's
// run (stacking, the ORT call, cutting, spans) is batch-run.ts.
import { InjectedFaultError, ShuttingDownError } from '../errors.ts';
import { createAdmission, type Admission, type AdmissionClock } from './admission.ts';
import { createBatchRecorder, type BatchListener, type BatchRecorder, type BatchStats } from './batch-stats.ts';
import { axisLookup, requestRows, shapeKey, type AxisOf } from './batch-tensors.ts';
import { runBatch, type BatchModel, type Pending } from './batch-run.ts';
import type { BatchingSpec, FaultSpec } from './config.ts';
import { applyFault } from './fault.ts';
import type { RunLimiter } from './run-limiter.ts';
import type { RunOptions } from './run-phases.ts';
import type { Tensor } from './types.ts';

export interface BatcherInit {
  readonly model: string;
  readonly batching: BatchingSpec;
  /** Requests waiting to be dispatched; more are refused with QueueFullError. */
  readonly maxQueue: number;
  readonly limiter: RunLimiter;
  /** Runs on a slot the batcher holds. */
  readonly runHeld: BatchModel['runHeld'];
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
  /** What one batch's run needs of this model (batch-run.ts). */
  readonly #batchModel: BatchModel;
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
    this.#batchModel = { model, runHeld: init.runHeld, axisOf: this.#axisOf };
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
    if (this.#idle()) return this.#runAlone(inputs, outputNames, rows ?? this.#maxBatchSize, opts);
    const key = rows === undefined ? undefined : shapeKey(inputs, outputNames, this.#axisOf);
    // Inputs that disagree on the batch axis (or a shared input too large to compare) cannot be
    // stacked: such a request runs alone, at once.
    const ownRows = rows !== undefined && key !== undefined ? rows : this.#maxBatchSize;
    return new Promise<Tensor[]>((resolve, reject) => {
      const p: Pending = {
        inputs, outputNames,
        rows: ownRows,
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

  /**
   * Nothing waits (here or for the model's slot), a slot is free and a batch would not wait for
   * company: the request would be dispatched alone at once, so it skips the queue (no deadline
   * timer or abort listener to set and clear; under load requests queue and batch as before).
   */
  #idle(): boolean {
    const { limiter } = this.#init;
    return this.#delayMs === 0 && this.#pending === 0 && !this.#waitingForSlot && !this.#closed
      && limiter.queued === 0 && limiter.inFlight < limiter.maxConcurrent;
  }

  /** A batch of one on the free slot, taken now (requests arriving meanwhile queue behind it). */
  #runAlone(inputs: readonly Tensor[], outputNames: readonly string[], rows: number, opts: RunOptions): Promise<Tensor[]> {
    return new Promise<Tensor[]>((resolve, reject) => {
      const p: Pending = {
        inputs, outputNames, rows, key: '', enqueuedAt: performance.now(),
        ...(opts.trace === undefined ? {} : { trace: opts.trace }),
        ...(opts.phases === undefined ? {} : { phases: opts.phases }),
        resolve, reject, detach: () => {},
      };
      this.#init.limiter.acquire({ bypassQueueLimit: true }).then((release) => {
        void this.#runBatch([p]).finally(release);
      }, reject);
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
    if (batch.length > 0) await this.#runBatch(batch);
  }

  /** The batch's run, from the configured fault on: every request in it resolved or rejected. */
  async #runBatch(batch: Pending[]): Promise<void> {
    const d0 = performance.now();
    try {
      const { fault } = this.#init;
      if (fault !== undefined && fault.delayMs > 0) await applyFault(this.#model, { delayMs: fault.delayMs, errorRate: 0 }, {});
      const faultMs = performance.now() - d0;
      const live = this.#injectErrors(batch);
      if (live.length === 0) return;
      const rows = live.map((p) => p.rows);
      this.#recorder.record(rows.reduce((a, b) => a + b, 0));
      await runBatch(this.#batchModel, live, rows, d0, faultMs);
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
