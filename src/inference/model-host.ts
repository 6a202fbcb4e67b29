// Where ONNX Runtime sessions run and audio is decoded: a ModelHost. The in-process host runs
// them on the calling (main) thread, as `inference.workers: 0` asks; worker/worker-host.ts runs
// them on worker threads so no model run or decode holds the node's event loop. Everything
// around a run (limiter, batcher, VAD step group, faults, deadlines) stays on the main thread.
import { CancelledError, DeadlineExceededError } from '../errors.ts';
import type { OcrOut, OcrTask } from './adapters/ocr/ocr-work.ts';
import type { Logger } from '../logger.ts';
import type { AudioLimits, OnnxModelSpec } from './config.ts';
import type { SessionRun, ValueMeta } from './ort-session.ts';
import type { AcquireOptions } from './run-limiter.ts';
import type { ExecutionProvider, Tensor } from './types.ts';
import { decodeWavMonoSteps, runSteps } from './wav.ts';

/** One ONNX Runtime session, wherever it lives. */
export interface ModelSession {
  readonly provider: ExecutionProvider;
  readonly inputMetadata: readonly ValueMeta[];
  readonly outputMetadata: readonly ValueMeta[];
  /**
   * Outputs in `fetches` order and the run's own time where it ran (not its wait to get there);
   * ORT failures are InferenceFailedError with ORT's error as cause. A run still waiting when
   * `deadline` (epoch ms) passes is skipped with DeadlineExceededError.
   */
  run(feeds: readonly Tensor[], fetches: readonly string[], deadline?: number): Promise<SessionRun>;
  release(): Promise<void>;
}

export interface ModelHost {
  /** Worker threads (0: the main thread). */
  readonly workers: number;
  /** Runs per session it takes ahead of the one running (`inference.runAhead`; 0 on the main thread). */
  readonly runAhead: number;
  readonly audioLimits: AudioLimits;
  /** Create a session (a GPU -> CPU fallback logged on `logger`); ConfigError when it cannot load. */
  openSession(spec: OnnxModelSpec, logger: Logger): Promise<ModelSession>;
  /** WAV bytes -> mono samples at `targetRate`, within the audio limits, deadline and signal checked between chunks. */
  decodeAudio(wav: Uint8Array, targetRate: number, opts: AcquireOptions): Promise<Float32Array>;
  /** One step of an OCR adapter's image work (ocr-work.ts), deadline and signal checked before it and, off this thread, during it. */
  ocr<T extends OcrTask>(task: T, opts: AcquireOptions): Promise<OcrOut<T>>;
  close(): Promise<void>;
}

/** Buffers the caller gives away: a worker host may transfer (detach) them instead of copying. */
const owned = new WeakSet<object>();

/** Mark an array built for one run only (not a view over someone's buffer) as safe to transfer. */
export function giveAway<T extends object>(a: T): T {
  owned.add(a);
  return a;
}

export function isGivenAway(a: object): boolean {
  return owned.has(a);
}

/** Throws the request's own error when its deadline passed or it was cancelled. */
export function checkLive(what: string, deadline: number | undefined, cancelled: () => boolean): void {
  if (cancelled()) throw new CancelledError(`request was cancelled during ${what}`);
  if (deadline !== undefined && Date.now() >= deadline) throw new DeadlineExceededError(`deadline passed during ${what}`);
}

const PROVIDER_NAMES: Readonly<Record<ExecutionProvider, string>> = { cuda: 'CUDA', webgpu: 'WebGPU', cpu: 'CPU' };

export function logFallback(logger: Logger, name: string, requested: ExecutionProvider, reason: string): void {
  logger.warn({ model: name, requestedProvider: requested, provider: 'cpu' },
    `${PROVIDER_NAMES[requested]} execution provider unavailable for model ${name} (${reason}); falling back to CPU`);
}

export function createInProcessHost(audioLimits: AudioLimits): ModelHost {
  return {
    workers: 0,
    runAhead: 0,
    audioLimits,
    async openSession(spec, logger) {
      // ONNX Runtime is loaded with the first model: a pure router never maps its native library.
      const { openSession, runSession, valueMetas } = await import('./ort-session.ts');
      const { session, provider, fallback } = await openSession(spec);
      if (fallback !== undefined) logFallback(logger, spec.name, spec.provider, fallback);
      return {
        provider,
        inputMetadata: valueMetas(session.inputMetadata),
        outputMetadata: valueMetas(session.outputMetadata),
        run: (feeds, fetches) => runSession(session, spec.name, feeds, fetches),
        release: () => session.release(),
      };
    },
    // Runs to the end on this thread; only the deadline can pass between chunks.
    // eslint-disable-next-line @typescript-eslint/require-await -- a promise either way, like the worker host's
    async decodeAudio(wav, targetRate, opts) {
      const check = (): void => checkLive('audio decoding', opts.deadline, () => opts.signal?.aborted === true);
      check();
      return runSteps(decodeWavMonoSteps(wav, targetRate, audioLimits), check);
    },
    // Runs to the end on this thread. Imported here: a worker (which imports checkLive) never maps sharp with it.
    async ocr(task, opts) {
      checkLive('image processing', opts.deadline, () => opts.signal?.aborted === true);
      const { runOcrTask } = await import('./adapters/ocr/ocr-work.ts');
      return runOcrTask(task, false);
    },
    close: () => Promise.resolve(),
  };
}
