// The node's job store as the daemon opens it at start. An existing store file is opened there
// and then (checked, so a bad one fails the start early, and its unfinished jobs resume). A
// node that has never held a job has no file: it checks that the file could be made (the data
// dir exists or is created, and is writable) and leaves SQLite unloaded until a job call needs
// the store. Until then there is nothing stored, so the calls that only read totals (the jobs
// gauge, the retention sweep, a list) answer from that without opening it. node:sqlite and the
// pages it touches cost an idle node ~2 MB of resident memory (README, Memory).
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { JobStoreError } from '../../errors.ts';
import { openJobStore, type JobStore } from './store.ts';

/** The store at `file`: open now when the file exists, else opened by the first call that needs it. */
export function jobStoreAt(file: string, maxBytes: number): JobStore {
  if (existsSync(file)) return openJobStore(file, maxBytes);
  const dir = path.dirname(file);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new JobStoreError(`job store ${file} is unusable: its directory cannot be written (${(e as Error).message}). Fix the data directory's permissions and start again`, { cause: e });
  }
  return new DeferredJobStore(file, () => {
    try {
      return openJobStore(file, maxBytes);
    } catch (e) {
      const why = e instanceof JobStoreError && e.cause instanceof Error ? e.cause.message : (e as Error).message;
      throw new JobStoreError(`job store ${file} could not be made for this job call: ${why}. The node goes on; a later job call tries again`, { cause: e });
    }
  });
}

/** A store that does not exist yet: empty until the first call that writes or looks up a job opens it (a failed open is tried again by the next such call). */
class DeferredJobStore implements JobStore {
  readonly file: string;
  readonly #open: () => JobStore;
  #store: JobStore | undefined;

  constructor(file: string, open: () => JobStore) {
    this.file = file;
    this.#open = open;
  }

  get #s(): JobStore {
    this.#store ??= this.#open();
    return this.#store;
  }

  createJob(...a: Parameters<JobStore['createJob']>): ReturnType<JobStore['createJob']> { return this.#s.createJob(...a); }
  addItems(...a: Parameters<JobStore['addItems']>): ReturnType<JobStore['addItems']> { return this.#s.addItems(...a); }
  job(id: string): ReturnType<JobStore['job']> { return this.#s.job(id); }
  pendingIndices(id: string): number[] { return this.#s.pendingIndices(id); }
  query(id: string, index: number): ReturnType<JobStore['query']> { return this.#s.query(id, index); }
  finishItem(...a: Parameters<JobStore['finishItem']>): boolean { return this.#s.finishItem(...a); }
  endJob(...a: Parameters<JobStore['endJob']>): ReturnType<JobStore['endJob']> { return this.#s.endJob(...a); }
  items(...a: Parameters<JobStore['items']>): ReturnType<JobStore['items']> { return this.#s.items(...a); }
  failures(id: string): Record<string, number> { return this.#s.failures(id); }
  deleteJob(id: string): void { this.#s.deleteJob(id); }

  list(limit: number, state?: string): ReturnType<JobStore['list']> { return this.#store?.list(limit, state) ?? []; }
  sweep(before: number): string[] { return this.#store?.sweep(before) ?? []; }
  countsByState(): Record<string, number> { return this.#store?.countsByState() ?? {}; }
  totalBytes(): number { return this.#store?.totalBytes() ?? 0; }

  close(): void { this.#store?.close(); }
}
