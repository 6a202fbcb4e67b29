// One running job: takes its PENDING items in index order, up to `concurrency` at once, each
// through the node's QueryDispatcher exactly like a single query (the routing policy spreads
// them over providers; failover happens inside the dispatcher), retries an item with backoff
// on retryable statuses while the job's deadline allows, and stops taking items when the
// budget would be passed, the deadline passes, or the job is cancelled.
import { CancelledError, DeadlineExceededError, isPlexusError } from '../../errors.ts';
import type { InferRequest, Params } from '../../inference/types.ts';
import type { Logger } from '../../logger.ts';
import type { QueryDispatcher } from '../dispatch.ts';
import { statusName, statusForKind } from '../../wire/status.ts';
import { decodeQuery, encodeAnswer } from './codec.ts';
import { backoffMs, budgetDecision, isRetryableKind, type JobState } from './policy.ts';
import type { ItemOutcome, JobRow, JobStore } from './store.ts';
import { PARAM } from '../../wire/params.ts';

export interface RunnerDeps {
  readonly store: JobStore;
  readonly dispatcher: QueryDispatcher;
  readonly logger: Logger;
  readonly now: () => number;
  /** After every recorded item and when the job ends. */
  onItem(jobId: string, index: number, outcome: ItemOutcome): void;
  onEnd(job: JobRow): void;
}

interface Stop { readonly state: JobState; readonly reason: string; readonly rest: Pick<ItemOutcome, 'state' | 'status' | 'message'> }

export interface JobRun {
  readonly id: string;
  running(): number;
  /** New items were stored (AddItems). */
  added(indices: readonly number[], open: boolean): void;
  /** Ends the job CANCELLED at once: pending and running items become CANCELLED. */
  cancel(): JobRow;
  /** Node shutdown: abort in-flight tries without recording them (they stay PENDING for the restart). */
  halt(): Promise<void>;
}

/** Longest a halt waits for aborted tries to return. */
const HALT_WAIT_MS = 1000;

const errorOf = (e: unknown): { kind: Parameters<typeof statusForKind>[0]; message: string } =>
  isPlexusError(e) ? { kind: e.kind, message: e.message } : { kind: 'internal', message: e instanceof Error ? e.message : String(e) };

type Kind = ReturnType<typeof errorOf>['kind'];

function paramsFor(base: Params, cap: number | undefined): Params {
  if (cap === undefined) return base;
  const own = Number(base[PARAM.maxCost]);
  return { ...base, [PARAM.maxCost]: Number.isFinite(own) ? Math.min(own, cap) : Math.max(0, cap) };
}

/** The state of one running job: its queue, the tries in flight, what it has spent, why it stops. */
class JobRunner implements JobRun {
  readonly id: string;
  readonly #deps: RunnerDeps;
  readonly #row: JobRow;
  readonly #queue: number[];
  readonly #inFlight = new Map<number, AbortController>();
  readonly #settled = new Set<Promise<void>>();
  readonly #deadlineTimer: NodeJS.Timeout;
  #open: boolean;
  #spent: number;
  #itemCost: number | undefined;
  #stop: Stop | undefined;
  #ended = false;
  #halted = false;

  constructor(deps: RunnerDeps, row: JobRow) {
    this.#deps = deps;
    this.#row = row;
    this.id = row.id;
    this.#queue = deps.store.pendingIndices(row.id);
    this.#open = row.open;
    this.#spent = row.cost;
    this.#deadlineTimer = setTimeout(() => { this.#deadlinePassed(); }, Math.max(0, Math.min(row.deadlineMs - deps.now(), 2 ** 31 - 1)));
    this.#deadlineTimer.unref();
    queueMicrotask(() => { this.#pump(); });
  }

  running(): number {
    return this.#inFlight.size;
  }

  added(indices: readonly number[], stillOpen: boolean): void {
    this.#queue.push(...indices);
    this.#open = stillOpen;
    this.#pump();
  }

  cancel(): JobRow {
    if (this.#ended) return this.#deps.store.job(this.id);
    const job = this.#end({ state: 'CANCELLED', reason: 'cancelled by the caller', rest: { state: 'CANCELLED', status: 'CANCELLED', message: 'the job was cancelled' } });
    for (const c of this.#inFlight.values()) c.abort(new CancelledError('the job was cancelled'));
    return job;
  }

  async halt(): Promise<void> {
    this.#halted = true;
    clearTimeout(this.#deadlineTimer);
    for (const c of this.#inFlight.values()) c.abort(new CancelledError('the node is shutting down'));
    // Nothing is recorded after this point (halted), so a try that ignores its abort (an ORT run
    // in progress) need not hold the shutdown up for long.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.#settled]), new Promise((r) => { timer = setTimeout(r, HALT_WAIT_MS); })]);
    clearTimeout(timer);
  }

  #end(s: Stop): JobRow {
    this.#ended = true;
    clearTimeout(this.#deadlineTimer);
    const job = this.#deps.store.endJob(this.id, s.state, s.reason, s.rest, this.#deps.now());
    this.#deps.logger.info({ job: this.id, state: job.state, done: job.done, failed: job.failed, reason: s.reason }, 'job ended');
    this.#deps.onEnd(job);
    return job;
  }

  #deadlinePassed(): void {
    if (this.#ended) return;
    this.#stopFor('DEADLINE_EXCEEDED', `deadline: the job's deadline passed with ${this.#queue.length + this.#inFlight.size} items unfinished`);
    for (const c of this.#inFlight.values()) c.abort(new DeadlineExceededError('the job deadline passed'));
    this.#pump();
  }

  /** Starts items while the concurrency, the budget and the deadline allow; ends the job when nothing is left to wait for. */
  #pump(): void {
    if (this.#ended || this.#halted) return;
    const row = this.#row;
    const queue = this.#queue;
    if (this.#deps.now() >= row.deadlineMs && queue.length > 0) this.#stopFor('DEADLINE_EXCEEDED', `deadline: the job's deadline passed with ${queue.length + this.#inFlight.size} items unfinished`);
    while (this.#stop === undefined && this.#inFlight.size < row.concurrency && queue.length > 0) {
      const itemCost = this.#itemCost;
      const d = budgetDecision({ ...(row.maxCost === undefined ? {} : { maxCost: row.maxCost }), spent: this.#spent, inFlight: this.#inFlight.size, ...(itemCost === undefined ? {} : { itemCost }) });
      if (!d.start) {
        if (d.stop) this.#stopFor('BUDGET_EXHAUSTED', `budget: ${this.#spent} of max_cost ${row.maxCost ?? 0} spent; the next item would pass it`);
        break;
      }
      this.#launch(queue.shift() ?? 0, d.cap);
    }
    if (this.#inFlight.size > 0) return;
    if (this.#stop !== undefined) this.#end(this.#stop);
    else if (queue.length === 0 && !this.#open) this.#end({ state: 'COMPLETED', reason: '', rest: { state: 'SKIPPED', status: 'OK', message: '' } });
  }

  #launch(index: number, cap: number | undefined): void {
    const p = this.#runItem(index, cap).catch((e: unknown) => { this.#deps.logger.error({ err: e, job: this.id, index }, 'job item bookkeeping failed'); });
    this.#settled.add(p);
    void p.finally(() => { this.#settled.delete(p); });
  }

  #stopFor(state: JobState, reason: string): void {
    if (this.#stop !== undefined) return;
    const status = state === 'DEADLINE_EXCEEDED' ? 'DEADLINE_EXCEEDED' : 'RESOURCE_EXHAUSTED';
    this.#stop = { state, reason, rest: { state: 'SKIPPED', status, message: reason } };
  }

  async #runItem(index: number, cap: number | undefined): Promise<void> {
    const controller = new AbortController();
    this.#inFlight.set(index, controller);
    let outcome: ItemOutcome | undefined;
    try {
      outcome = await this.#tryItem(index, cap, controller.signal);
    } finally {
      this.#inFlight.delete(index);
      if (outcome !== undefined && !this.#halted) this.#record(index, outcome);
    }
  }

  /** Tries the item until it is answered, fails for good, or its retries, the deadline or the job run out. */
  async #tryItem(index: number, cap: number | undefined, signal: AbortSignal): Promise<ItemOutcome> {
    const { store, dispatcher, now } = this.#deps;
    const started = now();
    let q: ReturnType<typeof decodeQuery>;
    try {
      const stored = store.query(this.id, index);
      q = decodeQuery(stored.text, stored.blob);
    } catch (e) {
      return { state: 'FAILED', status: 'INTERNAL', message: `stored item unreadable: ${(e as Error).message}`, attempts: 0, cost: 0, servedBy: '', latencyMs: 0 };
    }
    for (let attempts = 1; ; attempts += 1) {
      const request: InferRequest = {
        model: q.model, ...(q.version === undefined ? {} : { version: q.version }), id: `${this.id}.${index}`, inputs: q.inputs, outputs: q.outputs,
        parameters: paramsFor(q.parameters, cap), deadline: Math.min(this.#row.deadlineMs, now() + this.#row.itemTimeoutMs), signal,
      };
      try {
        const result = await dispatcher.infer(request);
        const cost = Number(result.parameters[PARAM.cost] ?? 0) || 0;
        return { state: 'DONE', status: 'OK', message: '', attempts, cost, servedBy: String(result.parameters[PARAM.servedBy] ?? ''), latencyMs: now() - started, answer: encodeAnswer(result) };
      } catch (e) {
        const reason: unknown = signal.reason;
        const { kind, message } = errorOf(signal.aborted && isPlexusError(reason) ? reason : e);
        const wait = backoffMs(attempts);
        if (isRetryableKind(kind) && attempts <= this.#row.maxRetries && !signal.aborted && now() + wait < this.#row.deadlineMs && this.#stop === undefined) {
          await sleep(wait, signal);
          continue;
        }
        return this.#failed(kind, message, attempts, cap, now() - started);
      }
    }
  }

  /** The outcome of an item that failed for good; a try the budget refused stops the job. */
  #failed(kind: Kind, message: string, attempts: number, cap: number | undefined, latencyMs: number): ItemOutcome {
    const budgetRefused = kind === 'failed_precondition' && cap !== undefined;
    if (budgetRefused) this.#stopFor('BUDGET_EXHAUSTED', `budget: no provider answers within the ${cap} cost units left of max_cost ${this.#row.maxCost ?? 0}`);
    return {
      state: budgetRefused ? 'SKIPPED' : kind === 'cancelled' ? 'CANCELLED' : 'FAILED', status: statusName(statusForKind(kind)), message,
      attempts, cost: 0, servedBy: '', latencyMs,
    };
  }

  #record(index: number, outcome: ItemOutcome): void {
    if (this.#deps.store.finishItem(this.id, index, outcome, this.#deps.now())) {
      this.#spent += outcome.cost;
      if (outcome.state === 'DONE') this.#itemCost = Math.max(this.#itemCost ?? 0, outcome.cost);
      this.#deps.onItem(this.id, index, outcome);
    }
    this.#pump();
  }
}

export function startJobRun(deps: RunnerDeps, row: JobRow): JobRun {
  return new JobRunner(deps, row);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
    signal.addEventListener('abort', done, { once: true });
  });
}
