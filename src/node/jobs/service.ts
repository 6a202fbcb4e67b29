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
import { jobStoreAt } from './deferred-store.ts';
import type { ItemOutcome, ItemRow, JobRow, JobStore } from './store.ts';

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
  /** The store, opened already (the daemon opens it first, so a bad one fails the start early); default: jobStoreAt(<dataDir>/jobs.sqlite). The service closes it on stop. */
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

type Listener = (e: JobEvent) => void;

/** The node's jobs: the store, the runs of unfinished jobs, the watchers of each job, the timers. */
class NodeJobService implements JobService {
  readonly store: JobStore;
  readonly #init: JobServiceInit;
  readonly #now: () => number;
  readonly #runs = new Map<string, JobRun>();
  readonly #watchers = new Map<string, Set<Listener>>();
  #sweeper: NodeJS.Timeout | undefined;
  #resumeTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(init: JobServiceInit) {
    this.#init = init;
    this.#now = init.now ?? Date.now;
    this.store = init.store ?? jobStoreAt(path.join(init.dataDir, STORE_FILE), init.options.maxStoreBytes);
    init.metrics?.setStore(this.store);
  }

  submit(settings: JobSettings, items: readonly StoredQuery[], open: boolean): { job: JobView; existing: boolean } {
    this.#checkItems('items', items, items.length);
    if (items.length === 0 && !open) throw new InvalidInputError('items: a job needs at least one item (or more_items = true and AddItems calls)');
    const id = `job-${randomBytes(10).toString('hex')}`;
    const { job, existing } = this.store.createJob(id, settings, items.map(encodeQuery), open, this.#now());
    if (!existing) {
      this.#init.logger.info({ job: id, items: job.items, open }, 'job accepted');
      this.#run(job);
    }
    return { job: this.#view(job), existing };
  }

  addItems(id: string, firstIndex: number, items: readonly StoredQuery[], last: boolean): JobView {
    const before = this.store.job(id);
    this.#checkItems('items', items, Math.max(before.items, firstIndex + items.length));
    let job: JobRow;
    try {
      job = this.store.addItems(id, firstIndex, items.map(encodeQuery), last, this.#now());
    } catch (e) {
      if (e instanceof RangeError) throw new InvalidInputError(`first_index: ${e.message}`);
      throw e;
    }
    const fresh = Array.from({ length: job.items - before.items }, (_, i) => before.items + i);
    this.#runs.get(id)?.added(fresh, job.open);
    return this.#view(job);
  }

  get(id: string): JobView {
    return this.#view(this.store.job(id));
  }

  items(id: string, start: number, size: number, withResults: boolean): ItemRow[] {
    this.store.job(id);
    return this.store.items(id, start, size, withResults);
  }

  watch(id: string, listener: Listener): () => void {
    const job = this.#view(this.store.job(id));
    const ended = job.state !== 'RUNNING';
    listener({ job, end: ended });
    if (ended) return () => {};
    let set = this.#watchers.get(id);
    if (set === undefined) { set = new Set(); this.#watchers.set(id, set); }
    set.add(listener);
    return () => { this.#watchers.get(id)?.delete(listener); };
  }

  cancel(id: string): JobView {
    const r = this.#runs.get(id);
    if (r !== undefined) return this.#view(r.cancel());
    const row = this.store.job(id);
    // Not resumed yet (the node just restarted): end it here.
    if (row.state === 'RUNNING') return this.#view(this.store.endJob(id, 'CANCELLED', 'cancelled by the caller', { state: 'CANCELLED', status: 'CANCELLED', message: 'the job was cancelled' }, this.#now()));
    return this.#view(row);
  }

  list(limit: number, state?: string): JobView[] {
    if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) throw new InvalidInputError(`state: expected one of ${JOB_STATES.join(', ')}, got '${state.slice(0, 64)}'`);
    return this.store.list(limit, state).map((row) => this.#view(row));
  }

  delete(id: string): void {
    this.#runs.get(id)?.cancel();
    this.store.deleteJob(id);
  }

  start(settled: () => boolean = () => true): void {
    const unfinished = this.store.list(1_000_000, 'RUNNING');
    const until = this.#now() + RESUME_WAIT_MS;
    if (unfinished.length > 0) this.#resume(unfinished, settled, until);
    this.#sweep();
    this.#sweeper = setInterval(() => { this.#sweep(); }, Math.min(SWEEP_EVERY_MS, this.#init.options.retentionMs));
    this.#sweeper.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#resumeTimer);
    clearInterval(this.#sweeper);
    await Promise.all([...this.#runs.values()].map((r) => r.halt()));
    this.#runs.clear();
    // Open watches end now (the API layer reports them UNAVAILABLE: the job goes on after a restart).
    for (const [id, set] of this.#watchers) {
      const event: JobEvent = { job: this.#view(this.store.job(id)), end: true };
      for (const l of set) l(event);
    }
    this.#watchers.clear();
    this.#init.metrics?.setStore(undefined);
    this.store.close();
  }

  #view(row: JobRow): JobView {
    const running = this.#runs.get(row.id)?.running() ?? 0;
    const finished = row.done + row.failed + row.cancelled + row.skipped;
    return { ...row, running, pending: Math.max(0, row.items - finished - running), failures: this.store.failures(row.id) };
  }

  #emit(id: string, e: () => JobEvent): void {
    const set = this.#watchers.get(id);
    if (set === undefined || set.size === 0) return;
    const event = e();
    for (const l of set) l(event);
    if (event.end) this.#watchers.delete(id);
  }

  #run(row: JobRow): void {
    const { store } = this;
    this.#runs.set(row.id, startJobRun({
      store, dispatcher: this.#init.dispatcher, logger: this.#init.logger, now: this.#now,
      onItem: (id: string, index: number, o: ItemOutcome) => {
        this.#init.metrics?.item(o.status, o.latencyMs);
        this.#emit(id, () => ({ job: this.#view(store.job(id)), item: { index, ...o }, end: false }));
      },
      onEnd: (job: JobRow) => {
        this.#runs.delete(job.id);
        this.#emit(job.id, () => ({ job: this.#view(job), end: true }));
      },
    }, row));
  }

  /** Runs the unfinished jobs once `settled()` or the wait is over, polling until then. */
  #resume(unfinished: readonly JobRow[], settled: () => boolean, until: number): void {
    if (this.#stopped) return;
    if (!settled() && this.#now() < until) {
      this.#resumeTimer = setTimeout(() => { this.#resume(unfinished, settled, until); }, RESUME_POLL_MS);
      return;
    }
    for (const old of unfinished) {
      const row = this.#findRunning(old.id);
      if (row === undefined) continue; // cancelled or deleted while we waited
      this.#init.logger.info({ job: row.id, items: row.items, finished: row.done + row.failed }, 'resuming job');
      this.#run(row);
    }
  }

  #findRunning(id: string): JobRow | undefined {
    try {
      const row = this.store.job(id);
      return row.state === 'RUNNING' ? row : undefined;
    } catch {
      return undefined;
    }
  }

  #sweep(): void {
    const gone = this.store.sweep(this.#now() - this.#init.options.retentionMs);
    if (gone.length > 0) this.#init.logger.info({ jobs: gone.length }, 'expired jobs deleted');
  }

  #checkItems(field: string, items: readonly StoredQuery[], total: number): void {
    checkItemCount(field, items.length, total, this.#init.options.maxItemsPerJob);
  }
}

export function createJobService(init: JobServiceInit): JobService {
  return new NodeJobService(init);
}
