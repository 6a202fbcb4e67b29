// One model worker thread seen from the main thread: requests by id, replies matched back,
// errors rebuilt as the PlexusErrors they were, the thread held (ref) only while it has work.
// A worker that dies fails its in-flight work with InferenceFailedError, and refuses more.
import { Worker } from 'node:worker_threads';
import {
  CancelledError, ConfigError, DeadlineExceededError, InferenceFailedError, InvalidInputError, MessageTooLargeError, ShuttingDownError,
} from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { WireError, WorkerReply, WorkerRequest } from './protocol.ts';

// Distributive: a request without its `id`, whichever op it is.
export type RequestBody = WorkerRequest extends infer T ? (T extends unknown ? Omit<T, 'id'> : never) : never;

interface Task {
  resolve(value: unknown): void;
  reject(e: Error): void;
}

export interface WorkerSlot {
  /** Sessions placed here (the host's placement count). */
  sessions: number;
  readonly inFlight: number;
  /** Why it stopped; undefined while it runs. */
  readonly dead: string | undefined;
  send<T>(body: RequestBody, transfer?: ArrayBuffer[]): { id: number; done: Promise<T> };
  /** Fail request `id` now with `e` and tell the worker to stop it (checked between chunks). */
  abandon(id: number, e: Error): void;
  terminate(): Promise<void>;
}

const KNOWN_ERRORS: Readonly<Record<string, new (message: string, options?: { cause?: unknown }) => Error>> = {
  InvalidInputError, DeadlineExceededError, CancelledError, ConfigError, InferenceFailedError, ShuttingDownError, MessageTooLargeError,
};

function fromWire(e: WireError): Error {
  const Ctor = KNOWN_ERRORS[e.name] ?? InferenceFailedError;
  return new Ctor(e.message, e.cause !== undefined ? { cause: new Error(e.cause) } : undefined);
}

function workerUrl(): URL {
  // Sources run through type stripping (tests, bin/plexus without a build): the .ts; dist/: the .js.
  return new URL(import.meta.url.endsWith('.ts') ? './ort-worker.ts' : './ort-worker.js', import.meta.url);
}

let nextId = 1;

/** `closing()`: the host is shutting down (a stop is then expected, and new work refused). */
export function createWorkerSlot(name: string, closing: () => boolean, logger?: Logger): WorkerSlot {
  const worker = new Worker(workerUrl(), { name });
  const tasks = new Map<number, Task>();
  let dead: string | undefined;
  worker.unref(); // held only while it has work

  const settle = (id: number): Task | undefined => {
    const t = tasks.get(id);
    if (t === undefined) return undefined;
    tasks.delete(id);
    if (tasks.size === 0) worker.unref();
    return t;
  };
  const fail = (reason: string): void => {
    if (dead !== undefined) return;
    dead = reason;
    if (!closing()) logger?.error({ worker: name, inFlight: tasks.size, sessions: slot.sessions }, `model worker stopped: ${reason}`);
    for (const t of tasks.values()) t.reject(new InferenceFailedError(`model worker stopped: ${reason}`));
    tasks.clear();
  };
  worker.on('message', (r: WorkerReply) => {
    const t = settle(r.id); // undefined: abandoned (deadline, cancel)
    if (r.ok) t?.resolve(r.value);
    else t?.reject(fromWire(r.error));
  });
  worker.on('error', (e) => fail(e.message));
  worker.on('exit', (code) => fail(closing() ? 'shutting down' : `exited with code ${code}`));

  const slot: WorkerSlot = {
    sessions: 0,
    get inFlight() { return tasks.size; },
    get dead() { return dead; },
    send<T>(body: RequestBody, transfer: ArrayBuffer[] = []) {
      const id = nextId++;
      if (closing()) return { id, done: Promise.reject(new ShuttingDownError('local inference is shutting down')) };
      if (dead !== undefined) return { id, done: Promise.reject(new InferenceFailedError(`model worker stopped: ${dead}`)) };
      const done = new Promise<T>((resolve, reject) => { tasks.set(id, { resolve: resolve, reject }); });
      if (tasks.size === 1) worker.ref();
      worker.postMessage({ ...body, id }, transfer);
      return { id, done };
    },
    abandon(id, e) {
      const t = settle(id);
      if (t === undefined) return;
      worker.postMessage({ op: 'cancel', id } satisfies WorkerRequest);
      t.reject(e);
    },
    async terminate() { await worker.terminate(); },
  };
  return slot;
}
