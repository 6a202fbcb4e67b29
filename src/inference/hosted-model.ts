// What the engine hosts: raw ONNX models and capability adapters behind one interface.
import { InferenceFailedError, InvalidInputError } from '../errors.ts';
import type { BatchStats } from './batch-stats.ts';
import type { RunOptions } from './run-phases.ts';
import type { OrtModel } from './ort-model.ts';
import type { ModelInfo, ModelLoadStats, Tensor } from './types.ts';

export interface HostedModel {
  readonly info: ModelInfo;
  stats(): ModelLoadStats;
  /**
   * Run validated inputs; returns the requested outputs (all when `outputs` is empty). An
   * adapter adds its input preparation, execution and output building to `opts.phases`.
   */
  run(inputs: readonly Tensor[], outputs: readonly string[], opts: RunOptions): Promise<Tensor[]>;
  close(): Promise<void>;
}

export function hostRawModel(m: OrtModel): HostedModel {
  const info: ModelInfo = {
    name: m.spec.name,
    version: m.spec.version,
    platform: 'onnxruntime_onnx',
    capabilities: m.spec.capabilities,
    inputs: m.inputs,
    outputs: m.outputs,
    requestedProvider: m.spec.provider,
    provider: m.provider,
    price: m.spec.price,
    ready: true,
  };
  return {
    info,
    stats: () => ({
      name: info.name, computeMs: m.compute.value, inFlight: m.limiter.inFlight, queued: m.queued,
      maxConcurrent: m.limiter.maxConcurrent, maxQueue: m.limiter.maxQueue, ...batchingStats(m.batchStats()),
    }),
    run: (inputs, outputs, opts) => m.run(inputs, outputs, opts).catch((e: unknown) => { throw asInputError(m.spec.name, e); }),
    close: () => m.close(),
  };
}

/**
 * A raw model's dynamic dimensions (-1) pass validation whatever their size, so a kernel can
 * still refuse them (silero-vad wants exactly 576 samples at 16 kHz, matching batch sizes...).
 * ORT then reports a shape or dimension problem: that is the caller's input, not our failure.
 */
export function asInputError(model: string, e: unknown): unknown {
  if (!(e instanceof InferenceFailedError)) return e;
  const ortMessage = e.cause instanceof Error ? e.cause.message : '';
  if (!/\bshape|\bdimension|\bdims?\b/i.test(ortMessage)) return e;
  // Nested If/Loop nodes repeat the prefix; the innermost status message says what is wrong.
  const innermost = ortMessage.split('Status Message: ').pop()?.trim() ?? ortMessage;
  return new InvalidInputError(`model '${model}' cannot run these inputs: ${innermost.slice(0, 400)}`, { cause: e });
}

/** Spread into ModelLoadStats: the batch counters, only for models that batch. */
export function batchingStats(b: BatchStats | undefined): { batching?: BatchStats } {
  return b === undefined ? {} : { batching: b };
}
