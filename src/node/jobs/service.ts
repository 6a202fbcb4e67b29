// The jobs side of a node: the store, one JobRun per unfinished job, progress events for
// watchers, and the retention sweep. start() resumes every job the store says is RUNNING (after
// a crash, their unfinished items are PENDING and run again); stop() halts runs without
// recording the tries it aborts, so a restart re-runs them.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { InvalidInputError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { QueryDispatcher } from '../dispatch.ts';
import { encodeQuery, type StoredQuery } from './codec.ts';
import type { JobMetrics } from './metrics.ts';
import type { JobsOptions } from './options.ts';
import { checkItemCount, JOB_STATES, type JobSettings } from './policy.ts';
import { startJobRun, type JobRun } from './runner.ts';
import { openJobStore, type ItemOutcome, type ItemRow, type JobRow, type JobStore } from './store.ts';

export const STORE_FILE = 'jobs.sqlite';

/** A job as the API shows it: the stored row plus what only the runner knows. */
export interface JobView extends JobRow {
  readonly running: number;
  readonly pending: number;
  readonly failures: Record<string, number>;
}

export interface JobEvent {
  readonly job: JobView;
  readonly item?: ItemRow;
  /** The job has ended; no more events follow. */
  readonly end: boolean;
}

export interface JobServiceInit {
  readonly dataDir: string;
  readonly options: JobsOptions;
  readonly dispatcher: QueryDispatcher;
  readonly logger: Logger;
  readonly metrics?: JobMetrics;
  readonly now?: () => number;
  /** The store, opened already (the daemon opens it first, so a bad one fails the start early); default: open <dataDir>/jobs.sqlite. The service closes it on stop. */
  readonly store?: JobStore;
}

export interface JobService {
  submit(settings: JobSettings, items: readonly StoredQuery[], open: boolean): { job: JobView; existing: boolean };
  addItems(id: string, firstIndex: number, items: readonly StoredQuery[], last: boolean): JobView;
  get(id: string): JobView;
  items(id: string, start: number, size: number, withResults: boolean): ItemRow[];
  /** Calls `listener` with the current state at once, then on every change until the job ends; returns an unsubscribe. */
  watch(id: string, listener: (e: JobEvent) => void): () => void;
  cancel(id: string): JobView;
  list(limit: number, state?: string): JobView[];
  delete(id: string): void;
  readonly store: JobStore;
  /** Resumes unfinished jobs once `settled()` is true (polled) or after RESUME_WAIT_MS; starts the retention sweep. */
  start(settled?: () => boolean): void;
  stop(): Promise<void>;
}

const SWEEP_EVERY_MS = 60_000;
const RESUME_WAIT_MS = 10_000;
const RESUME_POLL_MS = 100;

export function createJobService(init: JobServiceInit): JobService {
  const now = init.now ?? Date.now;
  const store = init.store ?? openJobStore(path.join(init.dataDir, STORE_FILE), init.options.maxStoreBytes);
  init.metrics?.setStore(store);
  const runs = new Map<string, JobRun>();
  const watchers = new Map<string, Set<(e: JobEvent) => void>>();
  let sweeper: NodeJS.Timeout | undefined;
  let resumeTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const view = (row: JobRow): JobView => {
    const running = runs.get(row.id)?.running() ?? 0;
    const finished = row.done + row.failed + row.cancelled + row.skipped;
    return { ...row, running, pending: Math.max(0, row.items - finished - running), failures: store.failures(row.id) };
  };
  const emit = (id: string, e: () => JobEvent): void => {
    const set = watchers.get(id);
    if (set === undefined || set.size === 0) return;
    const event = e();
    for (const l of set) l(event);
    if (event.end) watchers.delete(id);
  };
  const run = (row: JobRow): void => {
    runs.set(row.id, startJobRun({
      store, dispatcher: init.dispatcher, logger: init.logger, now,
      onItem(id: string, index: number, o: ItemOutcome) {
        init.metrics?.item(o.status, o.latencyMs);
        emit(id, () => ({ job: view(store.job(id)), item: { index, ...o }, end: false }));
      },
      onEnd(job: JobRow) {
        runs.delete(job.id);
        emit(job.id, () => ({ job: view(job), end: true }));
      },
    }, row));
  };
  const findRunning = (id: string): JobRow | undefined => {
    try {
      const row = store.job(id);
      return row.state === 'RUNNING' ? row : undefined;
    } catch {
      return undefined;
    }
  };
  const checkItems = (field: string, items: readonly StoredQuery[], total: number): void => {
    checkItemCount(field, items.length, total, init.options.maxItemsPerJob);
  };

  return {
    store,
    submit(settings, items, open) {
      checkItems('items', items, items.length);
      if (items.length === 0 && !open) throw new InvalidInputError('items: a job needs at least one item (or more_items = true and AddItems calls)');
      const id = `job-${randomBytes(10).toString('hex')}`;
      const { job, existing } = store.createJob(id, settings, items.map(encodeQuery), open, now());
      if (!existing) {
        init.logger.info({ job: id, items: job.items, open }, 'job accepted');
        run(job);
      }
      return { job: view(job), existing };
    },
    addItems(id, firstIndex, items, last) {
      const before = store.job(id);
      checkItems('items', items, Math.max(before.items, firstIndex + items.length));
      let job: JobRow;
      try {
        job = store.addItems(id, firstIndex, items.map(encodeQuery), last, now());
      } catch (e) {
        if (e instanceof RangeError) throw new InvalidInputError(`first_index: ${e.message}`);
        throw e;
      }
      const fresh = Array.from({ length: job.items - before.items }, (_, i) => before.items + i);
      runs.get(id)?.added(fresh, job.open);
      return view(job);
    },
    get: (id) => view(store.job(id)),
    items: (id, start, size, withResults) => { store.job(id); return store.items(id, start, size, withResults); },
    watch(id, listener) {
      const job = view(store.job(id));
      const ended = job.state !== 'RUNNING';
      listener({ job, end: ended });
      if (ended) return () => {};
      let set = watchers.get(id);
      if (set === undefined) { set = new Set(); watchers.set(id, set); }
      set.add(listener);
      return () => { watchers.get(id)?.delete(listener); };
    },
    cancel(id) {
      const r = runs.get(id);
      if (r !== undefined) return view(r.cancel());
      const row = store.job(id);
      // Not resumed yet (the node just restarted): end it here.
      if (row.state === 'RUNNING') return view(store.endJob(id, 'CANCELLED', 'cancelled by the caller', { state: 'CANCELLED', status: 'CANCELLED', message: 'the job was cancelled' }, now()));
      return view(row);
    },
    list(limit, state) {
      if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) throw new InvalidInputError(`state: expected one of ${JOB_STATES.join(', ')}, got '${state.slice(0, 64)}'`);
      return store.list(limit, state).map(view);
    },
    delete(id) {
      runs.get(id)?.cancel();
      store.deleteJob(id);
    },
    start(settled = () => true) {
      const unfinished = store.list(1_000_000, 'RUNNING');
      const until = now() + RESUME_WAIT_MS;
      const resume = (): void => {
        if (stopped) return;
        if (!settled() && now() < until) { resumeTimer = setTimeout(resume, RESUME_POLL_MS); return; }
        for (const old of unfinished) {
          const row = findRunning(old.id);
          if (row === undefined) continue; // cancelled or deleted while we waited
          init.logger.info({ job: row.id, items: row.items, finished: row.done + row.failed }, 'resuming job');
          run(row);
        }
      };
      if (unfinished.length > 0) resume();
      const sweep = (): void => {
        const gone = store.sweep(now() - init.options.retentionMs);
        if (gone.length > 0) init.logger.info({ jobs: gone.length }, 'expired jobs deleted');
      };
      sweep();
      sweeper = setInterval(sweep, Math.min(SWEEP_EVERY_MS, init.options.retentionMs));
      sweeper.unref();
    },
    async stop() {
      stopped = true;
      clearTimeout(resumeTimer);
      clearInterval(sweeper);
      await Promise.all([...runs.values()].map((r) => r.halt()));
      runs.clear();
      // Open watches end now (the API layer reports them UNAVAILABLE: the job goes on after a restart).
      for (const [id, set] of watchers) {
        const event: JobEvent = { job: view(store.job(id)), end: true };
        for (const l of set) l(event);
      }
      watchers.clear();
      init.metrics?.setStore(undefined);
      store.close();
    },
  };
}
