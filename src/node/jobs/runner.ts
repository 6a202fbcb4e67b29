// One running job: takes its PENDING items in index order, up to `concurrency` at once, each
// through the node's QueryDispatcher exactly like a single query (the routing policy spreads
// them over providers; failover happens inside the dispatcher), retries an item with backoff
// on retryable statuses while the job's deadline allows, and stops taking items when the
// budget would be passed, the deadline passes, or the job is cancelled.
import { CancelledError, DeadlineExceededError, isPlexusError } from '../../errors.ts';
import type { InferRequest, Params } from '../../inference/types.ts';
import type { Logger } from '../../logger.ts';
import type { QueryDispatcher } from '../dispatch.ts';
import { statusName, statusForKind } from '../grpc/status.ts';
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

export function startJobRun(deps: RunnerDeps, row: JobRow): JobRun {
  const { store, dispatcher, logger, now } = deps;
  const id = row.id;
  const queue = store.pendingIndices(id);
  const inFlight = new Map<number, AbortController>();
  const settled = new Set<Promise<void>>();
  let open = row.open;
  let spent = row.cost;
  let itemCost: number | undefined;
  let stop: Stop | undefined;
  let ended = false;
  let halted = false;

  const end = (s: Stop): JobRow => {
    ended = true;
    clearTimeout(deadlineTimer);
    const job = store.endJob(id, s.state, s.reason, s.rest, now());
    logger.info({ job: id, state: job.state, done: job.done, failed: job.failed, reason: s.reason }, 'job ended');
    deps.onEnd(job);
    return job;
  };

  const pump = (): void => {
    if (ended || halted) return;
    if (now() >= row.deadlineMs && queue.length > 0) stopFor('DEADLINE_EXCEEDED', `deadline: the job's deadline passed with ${queue.length + inFlight.size} items unfinished`);
    while (stop === undefined && inFlight.size < row.concurrency && queue.length > 0) {
      const d = budgetDecision({ ...(row.maxCost === undefined ? {} : { maxCost: row.maxCost }), spent, inFlight: inFlight.size, ...(itemCost === undefined ? {} : { itemCost }) });
      if (!d.start) {
        if (d.stop) stopFor('BUDGET_EXHAUSTED', `budget: ${spent} of max_cost ${row.maxCost ?? 0} spent; the next item would pass it`);
        break;
      }
      const index = queue.shift() ?? 0;
      const p = runItem(index, d.cap).catch((e: unknown) => { logger.error({ err: e, job: id, index }, 'job item bookkeeping failed'); });
      settled.add(p);
      void p.finally(() => { settled.delete(p); });
    }
    if (inFlight.size > 0) return;
    if (stop !== undefined) end(stop);
    else if (queue.length === 0 && !open) end({ state: 'COMPLETED', reason: '', rest: { state: 'SKIPPED', status: 'OK', message: '' } });
  };

  function stopFor(state: JobState, reason: string): void {
    if (stop !== undefined) return;
    const status = state === 'DEADLINE_EXCEEDED' ? 'DEADLINE_EXCEEDED' : 'RESOURCE_EXHAUSTED';
    stop = { state, reason, rest: { state: 'SKIPPED', status, message: reason } };
  }

  function paramsFor(base: Params, cap: number | undefined): Params {
    if (cap === undefined) return base;
    const own = Number(base[PARAM.maxCost]);
    return { ...base, [PARAM.maxCost]: Number.isFinite(own) ? Math.min(own, cap) : Math.max(0, cap) };
  }

  async function runItem(index: number, cap: number | undefined): Promise<void> {
    const controller = new AbortController();
    inFlight.set(index, controller);
    const started = now();
    let attempts = 0;
    let outcome: ItemOutcome | undefined;
    try {
      let q: ReturnType<typeof decodeQuery>;
      try {
        const stored = store.query(id, index);
        q = decodeQuery(stored.text, stored.blob);
      } catch (e) {
        outcome = { state: 'FAILED', status: 'INTERNAL', message: `stored item unreadable: ${(e as Error).message}`, attempts, cost: 0, servedBy: '', latencyMs: 0 };
        return;
      }
      for (;;) {
        attempts += 1;
        const request: InferRequest = {
          model: q.model, ...(q.version === undefined ? {} : { version: q.version }), id: `${id}.${index}`, inputs: q.inputs, outputs: q.outputs,
          parameters: paramsFor(q.parameters, cap), deadline: Math.min(row.deadlineMs, now() + row.itemTimeoutMs), signal: controller.signal,
        };
        try {
          const result = await dispatcher.infer(request);
          const cost = Number(result.parameters[PARAM.cost] ?? 0) || 0;
          outcome = { state: 'DONE', status: 'OK', message: '', attempts, cost, servedBy: String(result.parameters[PARAM.servedBy] ?? ''), latencyMs: now() - started, answer: encodeAnswer(result) };
          break;
        } catch (e) {
          const reason: unknown = controller.signal.reason;
          const { kind, message } = errorOf(controller.signal.aborted && isPlexusError(reason) ? reason : e);
          const wait = backoffMs(attempts);
          if (isRetryableKind(kind) && attempts <= row.maxRetries && !controller.signal.aborted && now() + wait < row.deadlineMs && stop === undefined) {
            await sleep(wait, controller.signal);
            continue;
          }
          const budgetRefused = kind === 'failed_precondition' && cap !== undefined;
          if (budgetRefused) stopFor('BUDGET_EXHAUSTED', `budget: no provider answers within the ${cap} cost units left of max_cost ${row.maxCost ?? 0}`);
          outcome = {
            state: budgetRefused ? 'SKIPPED' : kind === 'cancelled' ? 'CANCELLED' : 'FAILED', status: statusName(statusForKind(kind)), message,
            attempts, cost: 0, servedBy: '', latencyMs: now() - started,
          };
          break;
        }
      }
    } finally {
      inFlight.delete(index);
      if (outcome !== undefined && !halted) record(index, outcome);
    }
  }

  function record(index: number, outcome: ItemOutcome): void {
    if (store.finishItem(id, index, outcome, now())) {
      spent += outcome.cost;
      if (outcome.state === 'DONE') itemCost = Math.max(itemCost ?? 0, outcome.cost);
      deps.onItem(id, index, outcome);
    }
    pump();
  }

  const deadlineTimer = setTimeout(() => {
    if (ended) return;
    stopFor('DEADLINE_EXCEEDED', `deadline: the job's deadline passed with ${queue.length + inFlight.size} items unfinished`);
    for (const c of inFlight.values()) c.abort(new DeadlineExceededError('the job deadline passed'));
    pump();
  }, Math.max(0, Math.min(row.deadlineMs - now(), 2 ** 31 - 1)));
  deadlineTimer.unref();

  queueMicrotask(pump);
  return {
    id,
    running: () => inFlight.size,
    added(indices, stillOpen) {
      queue.push(...indices);
      open = stillOpen;
      pump();
    },
    cancel() {
      if (ended) return store.job(id);
      const job = end({ state: 'CANCELLED', reason: 'cancelled by the caller', rest: { state: 'CANCELLED', status: 'CANCELLED', message: 'the job was cancelled' } });
      for (const c of inFlight.values()) c.abort(new CancelledError('the job was cancelled'));
      return job;
    },
    async halt() {
      halted = true;
      clearTimeout(deadlineTimer);
      for (const c of inFlight.values()) c.abort(new CancelledError('the node is shutting down'));
      // Nothing is recorded after this point (halted), so a try that ignores its abort (an ORT run
      // in progress) need not hold the shutdown up for long.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all([...settled]), new Promise((r) => { timer = setTimeout(r, HALT_WAIT_MS); })]);
      clearTimeout(timer);
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
    signal.addEventListener('abort', done, { once: true });
  });
}
