// The job store: one SQLite file (Node's built-in node:sqlite) in the node's data dir. A job is
// a row of settings and counters; each item a row with its query, then its outcome. Everything
// that must survive a crash is one transaction: a submission (job + items) is committed before
// it is acknowledged, and an item's outcome lands with the job's counters only while the item is
// still PENDING, so a result is recorded once even when a restart re-runs the item. Items are
// never written as RUNNING: what runs at a crash is simply PENDING again after the restart.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { JobClosedError, JobNotFoundError, JobStoreError, JobStoreFullError } from '../../errors.ts';
import type { Encoded } from './codec.ts';
import type { ItemState, JobSettings, JobState } from './policy.ts';
import { SCHEMA, SCHEMA_VERSION } from './schema.ts';
import { sqlite } from './sqlite.ts';

export interface JobRow {
  readonly id: string;
  readonly idemKey: string;
  readonly label: string;
  readonly state: JobState;
  readonly stopReason: string;
  readonly open: boolean;
  readonly createdMs: number;
  readonly updatedMs: number;
  readonly endedMs: number;
  readonly deadlineMs: number;
  readonly maxCost?: number;
  readonly concurrency: number;
  readonly maxRetries: number;
  readonly itemTimeoutMs: number;
  readonly items: number;
  readonly done: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly skipped: number;
  readonly cost: number;
  readonly bytes: number;
}

export interface ItemOutcome {
  readonly state: Exclude<ItemState, 'PENDING' | 'RUNNING'>;
  /** gRPC status name: OK, NOT_FOUND, ... */
  readonly status: string;
  readonly message: string;
  readonly attempts: number;
  readonly cost: number;
  readonly servedBy: string;
  readonly latencyMs: number;
  readonly answer?: Encoded;
}

export interface ItemRow extends Omit<ItemOutcome, 'state' | 'answer'> {
  readonly index: number;
  readonly state: ItemState;
  readonly result?: Encoded;
}

type Row = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const COUNTER: Readonly<Record<ItemOutcome['state'], string>> = { DONE: 'done', FAILED: 'failed', CANCELLED: 'cancelled', SKIPPED: 'skipped' };

function jobRow(r: Row): JobRow {
  return {
    id: str(r['id']), idemKey: str(r['idem_key']), label: str(r['label']), state: str(r['state']) as JobState, stopReason: str(r['stop_reason']),
    open: num(r['open']) === 1, createdMs: num(r['created_ms']), updatedMs: num(r['updated_ms']), endedMs: num(r['ended_ms']),
    deadlineMs: num(r['deadline_ms']), ...(r['max_cost'] === null ? {} : { maxCost: num(r['max_cost']) }), concurrency: num(r['concurrency']),
    maxRetries: num(r['max_retries']), itemTimeoutMs: num(r['item_timeout_ms']), items: num(r['items']), done: num(r['done']),
    failed: num(r['failed']), cancelled: num(r['cancelled']), skipped: num(r['skipped']), cost: num(r['cost']), bytes: num(r['bytes']),
  };
}

const itemBytes = (e: Encoded): number => e.text.length + e.blob.byteLength;

export interface JobStore {
  readonly file: string;
  /** Stores a new job with its first items; an existing job when the idempotency key is known. */
  createJob(id: string, settings: JobSettings, items: readonly Encoded[], open: boolean, now: number): { job: JobRow; existing: boolean };
  /** Appends items from `firstIndex` (already held ones are skipped); `last` closes the job to more. */
  addItems(id: string, firstIndex: number, items: readonly Encoded[], last: boolean, now: number): JobRow;
  job(id: string): JobRow;
  list(limit: number, state?: string): JobRow[];
  pendingIndices(id: string): number[];
  query(id: string, index: number): Encoded;
  /** Records an outcome once: false when the item was no longer PENDING (cancelled, skipped, already done). */
  finishItem(id: string, index: number, outcome: ItemOutcome, now: number): boolean;
  /** Ends the job; its PENDING items become `rest` (CANCELLED or SKIPPED) with that status and message. */
  endJob(id: string, state: JobState, reason: string, rest: Pick<ItemOutcome, 'state' | 'status' | 'message'>, now: number): JobRow;
  items(id: string, start: number, size: number, withResults: boolean): ItemRow[];
  failures(id: string): Record<string, number>;
  deleteJob(id: string): void;
  /** Deletes jobs that ended before `before`; returns their ids. */
  sweep(before: number): string[];
  countsByState(): Record<string, number>;
  totalBytes(): number;
  close(): void;
}

/** Opens (creating when new) and checks the SQLite file; any failure is one JobStoreError naming the file. */
function openDatabase(file: string): DatabaseSync {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const db = new (sqlite().DatabaseSync)(file);
    const version = num((db.prepare('PRAGMA user_version').get() as Row)['user_version']);
    if (version > SCHEMA_VERSION) throw new Error(`it was written by a newer Plexus (schema ${version}; this one knows ${SCHEMA_VERSION})`);
    const check = db.prepare('PRAGMA quick_check').all().map((r) => Object.values(r as Row)[0]);
    if (check.length !== 1 || check[0] !== 'ok') throw new Error(`integrity check failed: ${check.slice(0, 3).join('; ')}`);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;');
    db.exec(`BEGIN IMMEDIATE; ${SCHEMA} PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`);
    return db;
  } catch (e) {
    throw new JobStoreError(`job store ${file} is unusable: ${(e as Error).message}. The node does not start with an empty store over it: move the file away (or fix its directory's permissions) and start again`, { cause: e });
  }
}

function prepareStatements(db: DatabaseSync) {
  return {
    job: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    byKey: db.prepare("SELECT * FROM jobs WHERE idem_key = ? AND idem_key != ''"),
    total: db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM jobs'),
    insertJob: db.prepare(`INSERT INTO jobs (id, idem_key, label, state, open, created_ms, updated_ms, deadline_ms, max_cost, concurrency, max_retries, item_timeout_ms)
      VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?)`),
    insertItem: db.prepare("INSERT INTO items (job_id, idx, state, request, input) VALUES (?, ?, 'PENDING', ?, ?)"),
    grow: db.prepare('UPDATE jobs SET items = items + ?, bytes = bytes + ?, open = ?, updated_ms = ? WHERE id = ?'),
    pending: db.prepare("SELECT idx FROM items WHERE job_id = ? AND state = 'PENDING' ORDER BY idx"),
    query: db.prepare("SELECT request, input FROM items WHERE job_id = ? AND idx = ? AND state = 'PENDING'"),
    finish: db.prepare(`UPDATE items SET state = ?, status = ?, message = ?, attempts = ?, cost = ?, served_by = ?, latency_ms = ?, result = ?, output = ?, input = NULL
      WHERE job_id = ? AND idx = ? AND state = 'PENDING'`),
    inputLength: db.prepare("SELECT COALESCE(length(input), 0) AS n FROM items WHERE job_id = ? AND idx = ? AND state = 'PENDING'"),
    skipRest: db.prepare("UPDATE items SET state = ?, status = ?, message = ?, input = NULL WHERE job_id = ? AND state = 'PENDING'"),
    end: db.prepare("UPDATE jobs SET state = ?, stop_reason = ?, ended_ms = ?, updated_ms = ?, open = 0 WHERE id = ? AND state = 'RUNNING'"),
    page: db.prepare('SELECT * FROM items WHERE job_id = ? AND idx >= ? ORDER BY idx LIMIT ?'),
    failures: db.prepare("SELECT status, COUNT(*) AS n FROM items WHERE job_id = ? AND state IN ('FAILED', 'SKIPPED', 'CANCELLED') GROUP BY status"),
    del: db.prepare('DELETE FROM jobs WHERE id = ?'),
    delItems: db.prepare('DELETE FROM items WHERE job_id = ?'),
    old: db.prepare("SELECT id FROM jobs WHERE state != 'RUNNING' AND ended_ms < ?"),
    states: db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state'),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

function itemRow(r: Row, withResults: boolean): ItemRow {
  return {
    index: num(r['idx']), state: str(r['state']) as ItemState, status: str(r['status']), message: str(r['message']), attempts: num(r['attempts']),
    cost: num(r['cost']), servedBy: str(r['served_by']), latencyMs: num(r['latency_ms']),
    ...(withResults && typeof r['result'] === 'string' ? { result: { text: r['result'], blob: r['output'] as Uint8Array } } : {}),
  };
}

/** The store over one open SQLite file; each write that must survive a crash is one transaction. */
class SqliteJobStore implements JobStore {
  readonly file: string;
  readonly #maxBytes: number;
  readonly #db: DatabaseSync;
  readonly #s: Statements;

  constructor(file: string, maxBytes: number) {
    this.file = file;
    this.#maxBytes = maxBytes;
    this.#db = openDatabase(file);
    this.#s = prepareStatements(this.#db);
  }

  createJob(id: string, st: JobSettings, items: readonly Encoded[], open: boolean, now: number): { job: JobRow; existing: boolean } {
    return this.#tx(() => {
      const known = st.idempotencyKey === '' ? undefined : (this.#s.byKey.get(st.idempotencyKey) as Row | undefined);
      if (known !== undefined) return { job: jobRow(known), existing: true };
      const bytes = this.#reserve(items);
      this.#s.insertJob.run(id, st.idempotencyKey, st.label, open ? 1 : 0, now, now, st.deadlineMs, st.maxCost ?? null, st.concurrency, st.maxRetries, st.itemTimeoutMs);
      this.#insert(id, 0, items);
      this.#s.grow.run(items.length, bytes, open ? 1 : 0, now, id);
      return { job: this.job(id), existing: false };
    });
  }

  addItems(id: string, firstIndex: number, items: readonly Encoded[], last: boolean, now: number): JobRow {
    return this.#tx(() => {
      const job = this.job(id);
      if (firstIndex > job.items) throw new RangeError(`first_index ${firstIndex} leaves a gap: the job holds ${job.items} items`);
      const fresh = items.slice(job.items - firstIndex);
      // A retried call whose items are all held already changes nothing (but may still close the job).
      if (fresh.length === 0 && (!last || !job.open)) return job;
      if (!job.open) throw new JobClosedError(`job '${id}' takes no more items: it was closed (last = true) or has ended`);
      const bytes = this.#reserve(fresh);
      this.#insert(id, job.items, fresh);
      this.#s.grow.run(fresh.length, bytes, last ? 0 : 1, now, id);
      return this.job(id);
    });
  }

  job(id: string): JobRow {
    const r = this.#s.job.get(id) as Row | undefined;
    if (r === undefined) throw new JobNotFoundError(`no job '${id.slice(0, 100)}' on this node`);
    return jobRow(r);
  }

  list(limit: number, state?: string): JobRow[] {
    const rows = state === undefined
      ? this.#db.prepare('SELECT * FROM jobs ORDER BY created_ms DESC LIMIT ?').all(limit)
      : this.#db.prepare('SELECT * FROM jobs WHERE state = ? ORDER BY created_ms DESC LIMIT ?').all(state, limit);
    return rows.map((r) => jobRow(r as Row));
  }

  pendingIndices(id: string): number[] {
    return this.#s.pending.all(id).map((r) => num((r as Row)['idx']));
  }

  query(id: string, index: number): Encoded {
    const r = this.#s.query.get(id, index) as Row | undefined;
    if (r === undefined) throw new JobNotFoundError(`job '${id}' has no pending item ${index}`);
    return { text: str(r['request']), blob: r['input'] as Uint8Array };
  }

  finishItem(id: string, index: number, o: ItemOutcome, now: number): boolean {
    return this.#tx(() => {
      const held = this.#s.inputLength.get(id, index) as Row | undefined;
      if (held === undefined) return false;
      this.#s.finish.run(o.state, o.status, o.message, o.attempts, o.cost, o.servedBy, o.latencyMs, o.answer?.text ?? null, o.answer?.blob ?? null, id, index);
      const col = COUNTER[o.state];
      const released = num(held['n']);
      this.#db.prepare(`UPDATE jobs SET ${col} = ${col} + 1, cost = cost + ?, bytes = bytes + ?, updated_ms = ? WHERE id = ?`)
        .run(o.cost, (o.answer === undefined ? 0 : itemBytes(o.answer)) - released, now, id);
      return true;
    });
  }

  endJob(id: string, state: JobState, reason: string, rest: Pick<ItemOutcome, 'state' | 'status' | 'message'>, now: number): JobRow {
    return this.#tx(() => {
      const n = Number(this.#s.skipRest.run(rest.state, rest.status, rest.message, id).changes);
      if (n > 0) this.#db.prepare(`UPDATE jobs SET ${COUNTER[rest.state]} = ${COUNTER[rest.state]} + ? WHERE id = ?`).run(n, id);
      this.#s.end.run(state, reason, now, now, id);
      return this.job(id);
    });
  }

  items(id: string, start: number, size: number, withResults: boolean): ItemRow[] {
    return this.#s.page.all(id, start, size).map((x) => itemRow(x as Row, withResults));
  }

  failures(id: string): Record<string, number> {
    return Object.fromEntries(this.#s.failures.all(id).map((r) => [str((r as Row)['status']), num((r as Row)['n'])]));
  }

  deleteJob(id: string): void {
    this.#tx(() => { this.job(id); this.#s.delItems.run(id); this.#s.del.run(id); });
  }

  sweep(before: number): string[] {
    const ids = this.#s.old.all(before).map((r) => str((r as Row)['id']));
    for (const id of ids) this.#tx(() => { this.#s.delItems.run(id); this.#s.del.run(id); });
    return ids;
  }

  countsByState(): Record<string, number> {
    return Object.fromEntries(this.#s.states.all().map((r) => [str((r as Row)['state']), num((r as Row)['n'])]));
  }

  totalBytes(): number {
    return num((this.#s.total.get() as Row)['n']);
  }

  close(): void {
    this.#db.close();
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (e) {
      this.#db.exec('ROLLBACK');
      throw e;
    }
  }

  /** The bytes `items` take; throws when they would pass the store's bound. */
  #reserve(items: readonly Encoded[]): number {
    const bytes = items.reduce((n, e) => n + itemBytes(e), 0);
    const held = this.totalBytes();
    if (held + bytes > this.#maxBytes) throw new JobStoreFullError(`the job store holds ${held} bytes; ${bytes} more would pass its bound of ${this.#maxBytes} (node.jobs.maxStoreBytes): delete finished jobs or raise the bound`);
    return bytes;
  }

  #insert(id: string, first: number, items: readonly Encoded[]): void {
    items.forEach((e, i) => { this.#s.insertItem.run(id, first + i, e.text, e.blob); });
  }
}

export function openJobStore(file: string, maxBytes: number): JobStore {
  return new SqliteJobStore(file, maxBytes);
}
