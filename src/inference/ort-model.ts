// One ONNX Runtime session per raw model: load on the requested execution provider (falling
// back to CPU with a warning when CUDA cannot be used), read its tensor signature, and run it
// under the model's concurrency limit and queue. The session itself lives in a ModelHost
// (model-host.ts): a worker thread, or the main thread with `inference.workers: 0`.
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { BatchListener, BatchStats } from './batch-stats.ts';
import { fixedBatchReason } from './batch-tensors.ts';
import { createBatcher, type Batcher } from './batcher.ts';
import type { OnnxModelSpec } from './config.ts';
import { createEwma, type Ewma } from './ewma.ts';
import { applyFault } from './fault.ts';
import { createInProcessHost, type ModelHost } from './model-host.ts';
import type { ValueMeta } from './ort-session.ts';
import { createRunLimiter, type RunLimiter } from './run-limiter.ts';
import type { RunOptions } from './run-phases.ts';
import { dataTypeFromOrt } from '../wire/tensor.ts';
import { DEFAULT_INFERENCE_SETTINGS } from './config.ts';
import type { ExecutionProvider, Tensor, TensorSpec } from './types.ts';

export interface OrtModel {
  readonly spec: OnnxModelSpec;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Provider the session really runs on. */
  readonly provider: ExecutionProvider;
  /** Where the session runs (and where adapters on this model decode their inputs). */
  readonly host: ModelHost;
  readonly limiter: RunLimiter;
  /** EWMA of one ORT call (a whole batch when batching). */
  readonly compute: Ewma;
  /** Requests waiting: in the limiter's queue, or in the batch queue when batching. */
  readonly queued: number;
  /** Batch counters; undefined when the model does not batch. */
  batchStats(): BatchStats | undefined;
  /**
   * Wait for a slot (limit + queue), apply the configured fault, run once, release. With
   * batching, wait in the batch queue instead and run as part of a batch.
   */
  run(inputs: readonly Tensor[], outputNames: readonly string[], opts?: RunOptions): Promise<Tensor[]>;
  /**
   * Run on a slot the caller already holds: adapters take one slot per request and step the
   * session many times on it. A batching layer plugs in here, merging same-step feeds.
   */
  runHeld(inputs: readonly Tensor[], outputNames: readonly string[], faultMs?: number, deadline?: number): Promise<Tensor[]>;
  /** Refuse new runs, wait for running ones, release the session. */
  close(): Promise<void>;
}

function readSignature(spec: OnnxModelSpec, meta: readonly ValueMeta[]): TensorSpec[] {
  return meta.map((m) => {
    if (!m.isTensor) throw new ConfigError(`model '${spec.name}': value '${m.name}' is not a tensor; only tensor inputs/outputs are supported`);
    const datatype = m.type === undefined ? undefined : dataTypeFromOrt(m.type);
    if (datatype === undefined) throw new ConfigError(`model '${spec.name}': value '${m.name}' has unsupported element type '${m.type ?? '?'}'`);
    // Symbolic or unknown dimensions are dynamic (-1).
    return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
  });
}

export interface OrtModelHooks {
  readonly onBatch?: BatchListener;
  /** Metrics hooks: ms a run (a batch counts once) waited for a slot; ms one ORT session run took. */
  readonly onQueueWait?: (model: string, ms: number) => void;
  readonly onCompute?: (model: string, ms: number) => void;
}

let mainThreadHost: ModelHost | undefined;

/**
 * Queued single runs (run(), not an adapter holding a slot for a whole request) that wait in the
 * host (a worker's message queue) instead of the limiter's queue: the worker then goes from run
 * to run without waiting for the event loop. They come out of `maxQueue` (the limiter caps them
 * there), so a model still holds at most maxConcurrent + maxQueue requests (run-limiter.ts).
 * None for a batcher (it forms batches while its slot is taken) or an injected delay (which must
 * hold the slot, as a slow model would).
 */
function runAheadOf(spec: OnnxModelSpec, host: ModelHost): number {
  return spec.batching === undefined && spec.fault.delayMs === 0 ? host.runAhead : 0;
}

/** `host` defaults to the main thread (tests, embedding); the engine passes its worker pool. */
export async function loadOrtModel(spec: OnnxModelSpec, logger: Logger, hooks: OrtModelHooks = {}, host?: ModelHost): Promise<OrtModel> {
  const where = host ?? (mainThreadHost ??= createInProcessHost(DEFAULT_INFERENCE_SETTINGS.audio));
  const session = await where.openSession(spec, logger);
  const { provider } = session;
  let inputs: TensorSpec[];
  let outputs: TensorSpec[];
  try {
    inputs = readSignature(spec, session.inputMetadata);
    outputs = readSignature(spec, session.outputMetadata);
    const fixed = spec.batching !== undefined ? fixedBatchReason(inputs, outputs, spec.batching.axes) : undefined;
    if (fixed !== undefined) {
      throw new ConfigError(`model '${spec.name}': batching needs a dynamic batch dimension in every input and output (dim 0, or the axis batching.axes gives it), but ${fixed}; fix batching.axes or remove "batching" from this model`);
    }
  } catch (e) {
    await session.release();
    throw e;
  }
  const { onQueueWait, onCompute } = hooks;
  const ahead = runAheadOf(spec, where);
  const limiter = createRunLimiter(spec.name, {
    maxConcurrent: spec.maxConcurrent, maxQueue: spec.maxQueue, ahead, ...(onQueueWait === undefined ? {} : { onGranted: (ms: number) => onQueueWait(spec.name, ms) }),
  });
  const compute = createEwma(0.2);
  logger.info({ model: spec.name, provider, requestedProvider: spec.provider, workers: where.workers, inputs, outputs }, `loaded model ${spec.name}`);

  /** `faultMs`: an injected delay this run already sat through; it counts in the advertised service time. */
  async function runHeld(feeds: readonly Tensor[], outputNames: readonly string[], faultMs = 0, deadline?: number): Promise<Tensor[]> {
    const fetches = outputNames.length > 0 ? outputNames : outputs.map((o) => o.name);
    const { outputs: result, ms } = await session.run(feeds, fetches, deadline);
    // The EWMA is what routing sees: a model slowed by fault injection must look slow to it.
    compute.add(ms + faultMs);
    onCompute?.(spec.name, ms);
    return result;
  }

  const batcher: Batcher | undefined = spec.batching === undefined ? undefined : createBatcher({
    model: spec.name, batching: spec.batching, maxQueue: spec.maxQueue, limiter, runHeld, fault: spec.fault,
    ...(hooks.onBatch !== undefined ? { onBatch: hooks.onBatch } : {}),
  });

  return {
    spec, inputs, outputs, provider, host: where, limiter, compute, runHeld,
    get queued() {
      // The batcher's own slot waiter stands for requests already counted as pending.
      return batcher === undefined ? limiter.queued : batcher.pending + limiter.queued - batcher.waitingForSlot;
    },
    batchStats: () => batcher?.stats(),
    async run(feeds, outputNames, opts = {}) {
      if (batcher !== undefined) return batcher.submit(feeds, outputNames, opts);
      const q0 = opts.trace && performance.now();
      const release = await limiter.acquire(ahead > 0 ? { ...opts, ahead: true } : opts);
      try {
        // The injected delay holds the slot, so a faulted model is slow AND busy (its queue fills).
        const f0 = performance.now();
        await applyFault(spec.name, spec.fault, opts);
        const out = await runHeld(feeds, outputNames, performance.now() - f0, opts.deadline);
        if (q0 !== undefined) {
          opts.trace?.phase('plexus.queue_wait', q0, f0, { 'plexus.model': spec.name });
          opts.trace?.phase('plexus.compute', f0, performance.now(), { 'plexus.model': spec.name });
        }
        return out;
      } finally {
        release();
      }
    },
    async close() {
      batcher?.close();
      await limiter.drain();
      await session.release();
    },
  };
}
