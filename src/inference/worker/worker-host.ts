// A small pool of model worker threads (ort-worker.ts). Each session lives in one worker: a new
// worker while fewer than `workers` run (measured: two sessions at c=32, one worker each 410
// queries/s vs 261 sharing one), else the one holding the fewest sessions. Audio decoding and the
// OCR adapters' image work (ocr-work.ts) have a worker of their own, the input worker (started
// with the first such task, ORT never loaded there): a model worker interleaves a decode's chunks
// with its session runs, so a long decode there delayed every step of every VAD query beside it
// by a chunk (measured: a 5 s query beside a 15-minute WAV took 4.2 s instead of 0.2 s). Input
// tensors cross as transferred buffers: arrays the caller gave away (giveAway) are moved,
// views over someone else's buffer (a gRPC message) are copied once.
// Outputs come back transferred. A worker that dies fails its in-flight work with
// InferenceFailedError (worker-slot.ts); its sessions are gone until the model is loaded again.
import { CancelledError, DeadlineExceededError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { AudioLimits, OnnxModelSpec } from '../config.ts';
import type { InferenceSettings } from '../settings.ts';
import type { OcrOut, OcrTask } from '../adapters/ocr/ocr-work.ts';
import { checkLive, createInProcessHost, isGivenAway, logFallback, type ModelHost, type ModelSession } from '../model-host.ts';
import type { SessionRun } from '../ort-session.ts';
import type { AcquireOptions } from '../run-limiter.ts';
import { decodeWavCost } from '../wav.ts';
import { packTensor, transferable, type LoadedReply } from './protocol.ts';
import { createWorkerSlot, type WorkerSlot } from './worker-slot.ts';

/**
 * A WAV this small whose decode costs at most INLINE_MAX_COST multiply-adds (well under a
 * millisecond; its header walk is at most 8k chunk reads) is decoded where it arrives: a trip to
 * the decode worker would cost more than the work.
 */
const INLINE_MAX_BYTES = 64 * 1024;
const INLINE_MAX_COST = 500_000;

/** An OCR task ready to post: the file's bytes copied once (a view over a gRPC message), the model outputs it consumes moved. */
function packOcrTask(t: OcrTask, transfer: ArrayBuffer[]): OcrTask {
  switch (t.kind) {
    case 'image': return { ...t, bytes: transferable(t.bytes, false, transfer) };
    case 'detBoxes': return { ...t, prob: transferable(t.prob, true, transfer) };
    case 'ctc': return { ...t, probs: transferable(t.probs, true, transfer) };
    default: return t; // pixels in shared memory, and small plain data
  }
}

/** `logger` hears of a worker that stops while the host is open. */
export function createWorkerHost(settings: Pick<InferenceSettings, 'workers' | 'runAhead' | 'audio'>, logger?: Logger): ModelHost {
  return new WorkerHost(settings, logger);
}

/** A session living in `slot` under id `sid`; released once, and only told to a live worker of an open host. */
function workerSession(slot: WorkerSlot, sid: number, spec: OnnxModelSpec, loaded: LoadedReply, closing: () => boolean): ModelSession {
  let released = false;
  return {
    provider: loaded.provider,
    inputMetadata: loaded.inputs,
    outputMetadata: loaded.outputs,
    run(feeds, fetches, deadline) {
      const transfer: ArrayBuffer[] = [];
      const packed = feeds.map((t) => packTensor(t, isGivenAway(t.data), transfer));
      const body = { op: 'run', session: sid, model: spec.name, feeds: packed, fetches, ...(deadline !== undefined ? { deadline } : {}) } as const;
      return slot.send<SessionRun>(body, transfer).done;
    },
    async release() {
      if (released) return;
      released = true;
      slot.sessions--;
      if (slot.dead === undefined && !closing()) await slot.send<null>({ op: 'release', session: sid }).done;
    },
  };
}

class WorkerHost implements ModelHost {
  readonly workers: number;
  readonly runAhead: number;
  readonly audioLimits: AudioLimits;
  readonly #logger: Logger | undefined;
  #closed = false;
  readonly #closing = (): boolean => this.#closed;
  /** Started as sessions need them: a new session gets a worker of its own while fewer than `workers` run. */
  readonly #slots: WorkerSlot[] = [];
  #decoder: WorkerSlot | undefined;
  readonly #inline: ModelHost;
  #nextSession = 1;

  constructor(settings: Pick<InferenceSettings, 'workers' | 'runAhead' | 'audio'>, logger?: Logger) {
    this.workers = settings.workers;
    this.runAhead = settings.runAhead;
    this.audioLimits = settings.audio;
    this.#logger = logger;
    this.#inline = createInProcessHost(settings.audio);
  }

  async openSession(spec: OnnxModelSpec, logger: Logger): Promise<ModelSession> {
    const slot = this.#placeSession();
    const sid = this.#nextSession++;
    const sessionSpec = { name: spec.name, path: spec.path, provider: spec.provider, session: spec.session };
    const loaded = await slot.send<LoadedReply>({ op: 'load', session: sid, spec: sessionSpec }).done;
    if (loaded.fallback !== undefined) logFallback(logger, spec.name, spec.provider, loaded.fallback);
    slot.sessions++;
    return workerSession(slot, sid, spec, loaded, this.#closing);
  }

  decodeAudio(wav: Uint8Array, targetRate: number, opts: AcquireOptions): Promise<Float32Array> {
    if (wav.byteLength <= INLINE_MAX_BYTES) {
      let cost: number;
      try {
        cost = decodeWavCost(wav, targetRate, this.audioLimits);
      } catch {
        return this.#inline.decodeAudio(wav, targetRate, opts); // the same header error, as a rejection
      }
      if (cost <= INLINE_MAX_COST) return this.#inline.decodeAudio(wav, targetRate, opts);
    }
    const transfer: ArrayBuffer[] = [];
    const bytes = packTensor({ name: 'audio', datatype: 'BYTES', shape: [1], data: [wav] }, false, transfer).data as Uint8Array[];
    const { id, done } = this.#inputSlot().send<Float32Array>({
      op: 'decode', wav: bytes[0] as Uint8Array, targetRate, limits: this.audioLimits, ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
    }, transfer);
    // The worker checks both between chunks; the caller hears at once.
    return this.#answerInTime(id, done, opts, 'audio decoding');
  }

  async ocr<T extends OcrTask>(task: T, opts: AcquireOptions): Promise<OcrOut<T>> {
    checkLive('image processing', opts.deadline, () => opts.signal?.aborted === true);
    const transfer: ArrayBuffer[] = [];
    // The file's bytes are copied once (a view over a gRPC message); arrays the caller is done with move.
    const packed = packOcrTask(task, transfer);
    const { id, done } = this.#inputSlot().send<OcrOut<T>>({ op: 'ocr', task: packed }, transfer);
    return await this.#answerInTime(id, done, opts, 'image processing');
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#slots, ...(this.#decoder !== undefined ? [this.#decoder] : [])].map((s) => s.terminate()));
  }

  /** A worker for a new session: a new one while fewer than `workers` live, else the live one with the fewest sessions. */
  #placeSession(): WorkerSlot {
    const live = this.#slots.filter((s) => s.dead === undefined);
    const first = live[0];
    if (live.length < this.workers || first === undefined) {
      const slot = createWorkerSlot(`plexus-model-${this.#slots.length}`, this.#closing, this.#logger);
      this.#slots.push(slot);
      return slot;
    }
    return live.reduce((a, b) => (b.sessions < a.sessions ? b : a), first);
  }

  /** The worker for inputs (audio decoding, OCR image work): started with the first, replaced when it died. */
  #inputSlot(): WorkerSlot {
    if (this.#decoder?.dead !== undefined) this.#decoder = undefined;
    return (this.#decoder ??= createWorkerSlot('plexus-decode', this.#closing, this.#logger));
  }

  /** `done`, or the request's own error at its deadline or cancellation (the worker is told to stop). */
  #answerInTime<T>(id: number, done: Promise<T>, opts: AcquireOptions, what: string): Promise<T> {
    const slot = this.#decoder;
    if (slot === undefined) return done;
    const timer = opts.deadline === undefined ? undefined
      : setTimeout(() => slot.abandon(id, new DeadlineExceededError(`deadline passed during ${what}`)), Math.max(0, opts.deadline - Date.now()));
    const onAbort = (): void => slot.abandon(id, new CancelledError(`request was cancelled during ${what}`));
    if (opts.signal?.aborted === true) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    return done.finally(() => {
      if (timer !== undefined) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    });
  }
}
