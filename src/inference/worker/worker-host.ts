// A small pool of model worker threads (ort-worker.ts). Each session lives in one worker, placed
// on the one holding the fewest sessions. Audio decoding has a worker of its own (started with
// the first decode, ORT never loaded there): a model worker interleaves a decode's chunks with
// its session runs, so a long decode there delayed every step of every VAD query beside it by a
// chunk (measured: a 5 s query beside a 15-minute WAV took 4.2 s instead of 0.2 s). Input tensors cross as transferred buffers: arrays the caller gave away
// (giveAway) are moved, views over someone else's buffer (a gRPC message) are copied once.
// Outputs come back transferred. A worker that dies fails its in-flight work with
// InferenceFailedError; its sessions are gone until the model is loaded again.
import { Worker } from 'node:worker_threads';
import {
  CancelledError, ConfigError, DeadlineExceededError, InferenceFailedError, InvalidInputError, ShuttingDownError,
} from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { AudioLimits } from '../config.ts';
import { isGivenAway, logFallback, type ModelHost, type ModelSession } from '../model-host.ts';
import type { Tensor } from '../types.ts';
import { packTensor, type LoadedReply, type WireError, type WorkerReply, type WorkerRequest } from './protocol.ts';

// Distributive: a request without its `id`, whichever op it is.
type Body<T> = T extends unknown ? Omit<T, 'id'> : never;

interface Task {
  resolve(value: unknown): void;
  reject(e: Error): void;
}

interface Slot {
  readonly worker: Worker;
  readonly tasks: Map<number, Task>;
  sessions: number;
  dead?: string;
}

const KNOWN_ERRORS: Readonly<Record<string, new (message: string, options?: { cause?: unknown }) => Error>> = {
  InvalidInputError, DeadlineExceededError, CancelledError, ConfigError, InferenceFailedError, ShuttingDownError,
};

function fromWire(e: WireError): Error {
  const Ctor = KNOWN_ERRORS[e.name] ?? InferenceFailedError;
  return new Ctor(e.message, e.cause !== undefined ? { cause: new Error(e.cause) } : undefined);
}

function workerUrl(): URL {
  // Sources run through type stripping (tests, bin/plexus without a build): the .ts; dist/: the .js.
  return new URL(import.meta.url.endsWith('.ts') ? './ort-worker.ts' : './ort-worker.js', import.meta.url);
}

/** `logger` hears of a worker that stops while the host is open. */
export function createWorkerHost(workers: number, audioLimits: AudioLimits, logger?: Logger): ModelHost {
  let nextId = 1;
  let closed = false;
  const slots: Slot[] = [];

  function fail(slot: Slot, reason: string): void {
    if (slot.dead !== undefined) return;
    slot.dead = reason;
    if (!closed) logger?.error({ worker: slot.worker.threadId, inFlight: slot.tasks.size, sessions: slot.sessions }, `model worker stopped: ${reason}`);
    for (const t of slot.tasks.values()) t.reject(new InferenceFailedError(`model worker stopped: ${reason}`));
    slot.tasks.clear();
  }

  function spawn(name: string): Slot {
    const worker = new Worker(workerUrl(), { name });
    const slot: Slot = { worker, tasks: new Map(), sessions: 0 };
    worker.unref(); // held only while it has work (see send)
    worker.on('message', (r: WorkerReply) => {
      const t = slot.tasks.get(r.id);
      if (t === undefined) return; // abandoned (deadline, cancel)
      slot.tasks.delete(r.id);
      if (slot.tasks.size === 0) worker.unref();
      if (r.ok) t.resolve(r.value);
      else t.reject(fromWire(r.error));
    });
    worker.on('error', (e) => fail(slot, e.message));
    worker.on('exit', (code) => fail(slot, closed ? 'shutting down' : `exited with code ${code}`));
    return slot;
  }
  for (let i = 0; i < workers; i++) slots.push(spawn(`plexus-model-${i}`));
  let decoder: Slot | undefined;

  function send<T>(slot: Slot, body: Body<WorkerRequest>, transfer: ArrayBuffer[] = []): { id: number; done: Promise<T> } {
    const id = nextId++;
    if (closed) return { id, done: Promise.reject(new ShuttingDownError('local inference is shutting down')) };
    if (slot.dead !== undefined) return { id, done: Promise.reject(new InferenceFailedError(`model worker stopped: ${slot.dead}`)) };
    const done = new Promise<T>((resolve, reject) => {
      slot.tasks.set(id, { resolve: resolve, reject });
    });
    if (slot.tasks.size === 1) slot.worker.ref();
    slot.worker.postMessage({ ...body, id }, transfer);
    return { id, done };
  }

  function abandon(slot: Slot, id: number, e: Error): void {
    const t = slot.tasks.get(id);
    if (t === undefined) return;
    slot.tasks.delete(id);
    if (slot.tasks.size === 0) slot.worker.unref();
    slot.worker.postMessage({ op: 'cancel', id } satisfies WorkerRequest);
    t.reject(e);
  }

  const live = (): Slot[] => slots.filter((s) => s.dead === undefined);
  const least = (by: (s: Slot) => number): Slot => {
    const candidates = live();
    const first = candidates[0] ?? slots[0];
    if (first === undefined) throw new InferenceFailedError('no model worker');
    return candidates.reduce((a, b) => (by(b) < by(a) ? b : a), first);
  };

  let nextSession = 1;

  return {
    workers,
    audioLimits,
    async openSession(spec, logger): Promise<ModelSession> {
      const slot = least((s) => s.sessions);
      const sid = nextSession++;
      const sessionSpec = { name: spec.name, path: spec.path, provider: spec.provider, session: spec.session };
      const loaded = await send<LoadedReply>(slot, { op: 'load', session: sid, spec: sessionSpec }).done;
      if (loaded.fallback !== undefined) logFallback(logger, spec.name, loaded.fallback);
      slot.sessions++;
      let released = false;
      return {
        provider: loaded.provider,
        inputMetadata: loaded.inputs,
        outputMetadata: loaded.outputs,
        run(feeds, fetches) {
          const transfer: ArrayBuffer[] = [];
          const packed = feeds.map((t) => packTensor(t, isGivenAway(t.data), transfer));
          return send<Tensor[]>(slot, { op: 'run', session: sid, model: spec.name, feeds: packed, fetches }, transfer).done;
        },
        async release() {
          if (released) return;
          released = true;
          slot.sessions--;
          if (slot.dead === undefined && !closed) await send<null>(slot, { op: 'release', session: sid }).done;
        },
      };
    },
    decodeAudio(wav, targetRate, opts) {
      if (decoder?.dead !== undefined) decoder = undefined; // a new one for the next request
      const slot = (decoder ??= spawn('plexus-decode'));
      const transfer: ArrayBuffer[] = [];
      const bytes = packTensor({ name: 'audio', datatype: 'BYTES', shape: [1], data: [wav] }, false, transfer).data as Uint8Array[];
      const { id, done } = send<Float32Array>(slot, {
        op: 'decode', wav: bytes[0] as Uint8Array, targetRate, limits: audioLimits, ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
      }, transfer);
      // The worker checks both between chunks; the caller hears at once.
      const timer = opts.deadline === undefined ? undefined
        : setTimeout(() => abandon(slot, id, new DeadlineExceededError('deadline passed during audio decoding')), Math.max(0, opts.deadline - Date.now()));
      const onAbort = (): void => abandon(slot, id, new CancelledError('request was cancelled during audio decoding'));
      if (opts.signal?.aborted === true) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      return done.finally(() => {
        if (timer !== undefined) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      });
    },
    async close() {
      closed = true;
      await Promise.all([...slots, ...(decoder !== undefined ? [decoder] : [])].map((s) => s.worker.terminate()));
    },
  };
}
