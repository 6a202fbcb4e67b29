// Step batching for the Silero VAD adapter: concurrent requests advance together, one ORT call
// per step for all of them (batch = number of requests stepping), instead of one ORT call per
// request per window. One loop holds ONE slot of the raw model's limiter while any request is
// stepping; new requests join at the next step boundary, finished ones leave with their
// segments. An idle group waits up to maxQueueDelayUs for company before its first step, as a
// dynamic batcher waits to fill a batch. A request may leave at any moment (deadline, abort);
// the others go on. A failed step fails exactly the requests that were in it.
import { InjectedFaultError, ShuttingDownError } from '../../errors.ts';
import { createAdmission, type Admission, type AdmissionClock } from '../admission.ts';
import { createBatchRecorder, type BatchListener, type BatchRecorder, type BatchStats } from '../batch-stats.ts';
import type { BatchingSpec, FaultSpec } from '../config.ts';
import { applyFault } from '../fault.ts';
import type { OrtModel } from '../ort-model.ts';
import type { AcquireOptions, Release } from '../run-limiter.ts';
import type { TraceSpan } from '../../trace.ts';

/** What the group needs of a request's walk over its audio (silero-vad.ts's VadStepper). */
export interface Stepper {
  readonly done: boolean;
}

export interface VadStepGroupInit<S extends Stepper> {
  /** The adapter's name, for errors and batch counters. */
  readonly name: string;
  readonly raw: OrtModel;
  readonly batching: BatchingSpec;
  /** Requests waiting to join; more are refused with QueueFullError. */
  readonly maxQueue: number;
  /** The adapter's fault: errorRate per request as it joins, delayMs once per step where some joined. */
  readonly fault: FaultSpec;
  /** Runs the current window of every stepper as one ORT call on the slot the group holds. */
  readonly step: (raw: OrtModel, steppers: readonly S[]) => Promise<void>;
  readonly onBatch?: BatchListener;
  readonly random?: () => number;
  /** Deadlines of its requests (tests pass a fake clock). */
  readonly clock?: AdmissionClock;
}

export interface VadStepGroup<S extends Stepper> {
  /** Step this request's audio to its end alongside the others; resolves with the ms it stepped. */
  run(stepper: S, opts: AcquireOptions): Promise<number>;
  /** Requests waiting to join the group (not yet stepping). */
  readonly waiting: number;
  /** Requests stepping now. */
  readonly active: number;
  /** 1 while the group waits in the raw model's limiter queue for its slot (it stands for `waiting`). */
  readonly waitingForSlot: number;
  stats(): BatchStats;
  /** Fail waiting and stepping requests with ShuttingDownError; the loop then lets its slot go. */
  close(): void;
}

interface Member<S> {
  readonly stepper: S;
  /** When it joined the group (performance.now()). */
  joinedAt: number;
  /** Tracing only (absent when off): when it asked to join, its steps and its largest step batch. */
  readonly trace?: { readonly span: TraceSpan; readonly queuedAt: number; steps: number; largest: number };
  resolve(steppedMs: number): void;
  reject(e: unknown): void;
  /** Detach deadline timer and abort listener. */
  detach(): void;
}

export function createVadStepGroup<S extends Stepper>(init: VadStepGroupInit<S>): VadStepGroup<S> {
  return new StepGroup(init);
}

function removeFrom<S>(list: Member<S>[], m: Member<S>): boolean {
  const i = list.indexOf(m);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

class StepGroup<S extends Stepper> implements VadStepGroup<S> {
  readonly #init: VadStepGroupInit<S>;
  readonly #name: string;
  readonly #maxBatchSize: number;
  readonly #delayMs: number;
  readonly #random: () => number;
  readonly #recorder: BatchRecorder;
  readonly #admission: Admission;
  readonly #waiting: Member<S>[] = [];
  readonly #active: Member<S>[] = [];
  #running = false;
  #waitingForSlot = false;
  #closed = false;
  /** Ends the idle wait for company early (the group filled, or closed). */
  #wakeEarly: (() => void) | undefined;

  constructor(init: VadStepGroupInit<S>) {
    const { name } = init;
    this.#init = init;
    this.#name = name;
    this.#maxBatchSize = init.batching.maxBatchSize;
    this.#delayMs = init.batching.maxQueueDelayUs / 1000;
    this.#random = init.random ?? Math.random;
    this.#recorder = createBatchRecorder(name, init.batching, init.onBatch);
    this.#admission = createAdmission({
      closed: `model '${name}' is shutting down`,
      cancelled: `request to '${name}' was cancelled`,
      expired: `deadline passed before '${name}' could run`,
      full: () => `model '${name}' queue is full (${this.#waiting.length} waiting, ${this.#active.length} stepping)`,
      // A request is watched until it ends, stepping or not.
      cancelledWaiting: `request to '${name}' was cancelled`,
      expiredWaiting: `deadline passed while '${name}' was running`,
    }, init.clock);
  }

  get waiting(): number { return this.#waiting.length; }
  get active(): number { return this.#active.length; }
  get waitingForSlot(): number { return this.#waitingForSlot ? 1 : 0; }
  stats(): BatchStats { return this.#recorder.snapshot(); }

  close(): void {
    this.#closed = true;
    this.#wakeEarly?.();
    this.#failAll(new ShuttingDownError(`model '${this.#name}' is shutting down`));
  }

  run(stepper: S, opts: AcquireOptions): Promise<number> {
    const refused = this.#admission.refuse(opts, { closed: this.#closed, full: this.#waiting.length >= this.#init.maxQueue });
    if (refused !== undefined) return Promise.reject(refused);
    if (stepper.done) return Promise.resolve(0);
    return new Promise<number>((resolve, reject) => {
      const m: Member<S> = {
        stepper, joinedAt: performance.now(), resolve, reject,
        ...(opts.trace === undefined ? {} : { trace: { span: opts.trace, queuedAt: performance.now(), steps: 0, largest: 0 } }),
        // Leaving is immediate; a step already running with this request just advances it for nothing.
        detach: this.#admission.watch(opts, (e) => { if (removeFrom(this.#waiting, m) || removeFrom(this.#active, m)) this.#settle(m, e); }),
      };
      this.#waiting.push(m);
      if (!this.#running) void this.#loop();
      else if (this.#waiting.length >= this.#maxBatchSize) this.#wakeEarly?.();
    });
  }

  #settle(m: Member<S>, e?: unknown): void {
    m.detach();
    if (m.trace !== undefined && e === undefined) {
      const { span, queuedAt, steps, largest } = m.trace;
      const end = performance.now();
      span.phase('plexus.queue_wait', queuedAt, m.joinedAt, { 'plexus.model': this.#name });
      span.phase('plexus.batch', m.joinedAt, end, { 'plexus.model': this.#name, 'plexus.batch_size': largest, 'plexus.steps': steps })
        .phase('plexus.compute', m.joinedAt, end, { 'plexus.model': this.#init.raw.spec.name, 'plexus.steps': steps });
    }
    if (e === undefined) m.resolve(performance.now() - m.joinedAt);
    else m.reject(e);
  }

  #waitForCompany(): Promise<void> {
    if (this.#delayMs <= 0 || this.#waiting.length >= this.#maxBatchSize) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.#wakeEarly = undefined; resolve(); }, this.#delayMs);
      this.#wakeEarly = () => {
        clearTimeout(timer);
        this.#wakeEarly = undefined;
        resolve();
      };
    });
  }

  #acquireSlot(): Promise<Release> {
    this.#waitingForSlot = true;
    // One waiter stands for the whole group, whose requests its own queue bounds already.
    return this.#init.raw.limiter.acquire({ bypassQueueLimit: true }).finally(() => { this.#waitingForSlot = false; });
  }

  /** Move waiting requests into the group, up to maxBatchSize; returns how many joined. */
  #admit(): number {
    const { fault } = this.#init;
    let joined = 0;
    while (this.#active.length < this.#maxBatchSize && this.#waiting.length > 0) {
      const m = this.#waiting.shift() as Member<S>;
      if (fault.errorRate > 0 && this.#random() < fault.errorRate) {
        this.#settle(m, new InjectedFaultError(`injected fault for model '${this.#name}' (errorRate ${fault.errorRate})`));
        continue;
      }
      m.joinedAt = performance.now();
      this.#active.push(m);
      joined++;
    }
    return joined;
  }

  /** One step of every request in the group; those done (or failed with it) leave. True: the step failed. */
  async #stepOnce(): Promise<boolean> {
    const batch = [...this.#active];
    try {
      this.#recorder.record(batch.length);
      await this.#init.step(this.#init.raw, batch.map((m) => m.stepper));
      for (const m of batch) {
        if (m.trace === undefined) continue;
        m.trace.steps++;
        m.trace.largest = Math.max(m.trace.largest, batch.length);
      }
    } catch (e) {
      // One ORT call served them all, so its failure is each one's failure.
      for (const m of batch) if (removeFrom(this.#active, m)) this.#settle(m, e);
      return true;
    }
    for (const m of batch) if (m.stepper.done && removeFrom(this.#active, m)) this.#settle(m);
    return false;
  }

  async #stepAll(release: Release): Promise<Release> {
    const { name, fault, raw } = this.#init;
    let held = release;
    while (!this.#closed) {
      const joined = this.#admit();
      if (this.#active.length === 0) break;
      // The injected delay holds the slot, so a faulted adapter keeps its model busy.
      if (joined > 0 && fault.delayMs > 0) await applyFault(name, { delayMs: fault.delayMs, errorRate: 0 }, {});
      if (await this.#stepOnce()) continue;
      // Others wait for this model (raw requests, another batcher): let them have the slot for a
      // turn rather than holding it for as long as VAD traffic keeps coming.
      if (raw.limiter.queued > 0 && (this.#active.length > 0 || this.#waiting.length > 0)) {
        held();
        held = await this.#acquireSlot();
      }
    }
    return held;
  }

  async #loop(): Promise<void> {
    this.#running = true;
    try {
      await this.#waitForCompany();
      if (this.#closed || this.#waiting.length === 0) return;
      const release = await this.#stepAll(await this.#acquireSlot());
      release();
    } catch (e) {
      // The limiter refused (shutting down): nobody in the group can run.
      this.#failAll(e);
    } finally {
      this.#running = false;
      if (!this.#closed && this.#waiting.length > 0) void this.#loop();
    }
  }

  #failAll(e: unknown): void {
    for (const m of this.#waiting.splice(0)) this.#settle(m, e);
    for (const m of this.#active.splice(0)) this.#settle(m, e);
  }
}
