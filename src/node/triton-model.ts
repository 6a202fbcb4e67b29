// Triton's model configuration and model statistics, built from what the node knows, the same
// for gRPC (ModelConfig, ModelStatistics) and REST (/v2/models/{name}/config, .../stats). The
// objects use Triton's field names (snake_case) and enum names, which is also Triton's JSON.
import { InvalidInputError, ModelNotFoundError } from '../errors.ts';
import type { DataType, ModelInfo, ModelLoadStats, TensorSpec } from '../inference/types.ts';
import type { ModelCatalog } from './dispatch.ts';
import type { DurationStat, ModelStatsRecorder, ModelStatsSnapshot } from './model-stats.ts';

/** Triton's DataType enum name of each KServe datatype (BYTES is TYPE_STRING). */
export const TRITON_DATA_TYPES: Readonly<Record<DataType, string>> = {
  BOOL: 'TYPE_BOOL', UINT8: 'TYPE_UINT8', UINT16: 'TYPE_UINT16', UINT32: 'TYPE_UINT32', UINT64: 'TYPE_UINT64',
  INT8: 'TYPE_INT8', INT16: 'TYPE_INT16', INT32: 'TYPE_INT32', INT64: 'TYPE_INT64',
  FP16: 'TYPE_FP16', FP32: 'TYPE_FP32', FP64: 'TYPE_FP64', BF16: 'TYPE_BF16', BYTES: 'TYPE_STRING',
};

export interface TritonTensorConfig {
  readonly name: string;
  readonly data_type: string;
  readonly dims: readonly number[];
}

export interface TritonModelConfig {
  readonly name: string;
  readonly platform: string;
  readonly backend: string;
  readonly max_batch_size: number;
  readonly input: readonly TritonTensorConfig[];
  readonly output: readonly TritonTensorConfig[];
  readonly instance_group: readonly { readonly name: string; readonly kind: 'KIND_CPU' | 'KIND_GPU'; readonly count: number; readonly gpus: readonly number[] }[];
  readonly dynamic_batching?: { readonly preferred_batch_size: readonly number[]; readonly max_queue_delay_microseconds: number };
}

/** What the node knows of a model: its signature, and for a local model its load stats. */
export interface TritonView {
  readonly catalog: ModelCatalog;
  /** Load stats of a model hosted here (concurrency, batching); undefined for a remote one. */
  readonly localStats: (name: string) => ModelLoadStats | undefined;
  readonly stats: ModelStatsRecorder;
}

const hasBatchDim = (t: TensorSpec): boolean => t.shape.length > 0 && t.shape[0] === -1;

/**
 * Triton's config of one model. max_batch_size is the batcher's maxBatchSize when the model
 * batches requests along a dynamic dim 0 of every input and output (a raw model with
 * `batching` and no other axis in `batching.axes`), else 0; dims then leave the batch
 * dimension out, as Triton's do. An adapter with step batching has no batch dimension (one WAV
 * per request): max_batch_size 0, with dynamic_batching saying that concurrent requests run
 * together.
 */
export function tritonModelConfig(info: ModelInfo, local: ModelLoadStats | undefined): TritonModelConfig {
  const batching = local?.batching;
  const batched = batching !== undefined && batching.onDim0 && [...info.inputs, ...info.outputs].every(hasBatchDim);
  const maxBatchSize = batched ? batching.maxBatchSize : 0;
  const tensor = (t: TensorSpec): TritonTensorConfig => ({
    name: t.name, data_type: TRITON_DATA_TYPES[t.datatype], dims: maxBatchSize > 0 ? t.shape.slice(1) : [...t.shape],
  });
  const gpu = info.provider !== 'cpu';
  return {
    name: info.name,
    platform: info.platform,
    backend: info.platform === 'onnxruntime_onnx' ? 'onnxruntime' : 'plexus',
    max_batch_size: maxBatchSize,
    input: info.inputs.map(tensor),
    output: info.outputs.map(tensor),
    instance_group: [{ name: info.name, kind: gpu ? 'KIND_GPU' : 'KIND_CPU', count: local?.maxConcurrent ?? 1, gpus: gpu ? [0] : [] }],
    ...(batching === undefined ? {} : { dynamic_batching: { preferred_batch_size: [], max_queue_delay_microseconds: batching.maxQueueDelayUs } }),
  };
}

function findModel(catalog: ModelCatalog, name: string, version: string): ModelInfo {
  if (name === '') throw new InvalidInputError('model name is required');
  const model = catalog.resolve(name, version === '' ? undefined : version);
  if (model === undefined) {
    throw new ModelNotFoundError(name, version === '' ? undefined : `model or capability '${name}' version '${version}' is not served here`);
  }
  return model;
}

/** ModelConfig: any model or capability the node can route to (a capability answers its model's). */
export function modelConfigFor(view: TritonView, name: string, version = ''): TritonModelConfig {
  const info = findModel(view.catalog, name, version);
  return tritonModelConfig(info, view.catalog.list().includes(info) ? view.localStats(info.name) : undefined);
}

type Duration = { readonly count: number; readonly ns: number };

export interface TritonModelStatistics {
  readonly name: string;
  readonly version: string;
  readonly last_inference: number;
  readonly inference_count: number;
  readonly execution_count: number;
  readonly inference_stats: Readonly<Record<'success' | 'fail' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output' | 'cache_hit' | 'cache_miss', Duration>>;
  readonly batch_stats: readonly never[];
}

const none: DurationStat = { count: 0, ns: 0 };

function tritonStatistics(s: ModelStatsSnapshot): TritonModelStatistics {
  return {
    name: s.name, version: s.version, last_inference: s.lastInference,
    inference_count: s.inferenceCount, execution_count: s.executionCount,
    inference_stats: {
      success: s.success, fail: s.fail, queue: s.queue,
      compute_input: s.computeInput, compute_infer: s.computeInfer, compute_output: s.computeOutput,
      cache_hit: none, cache_miss: none,
    },
    batch_stats: [],
  };
}

/**
 * ModelStatistics: every model hosted here (zeros until used) and every model that answered a
 * request entering here; `name` narrows to one model the node can route to (a capability names
 * its model; NOT_FOUND when it knows none by that name); `version` narrows to one version.
 */
export function modelStatisticsFor(view: TritonView, name = '', version = ''): TritonModelStatistics[] {
  const recorded = new Map(view.stats.snapshot().map((s) => [s.name, s]));
  const local = view.catalog.list();
  const blank = (m: ModelInfo): ModelStatsSnapshot => ({
    name: m.name, version: m.version, lastInference: 0, inferenceCount: 0, executionCount: 0,
    success: none, fail: none, queue: none, computeInfer: none, computeInput: none, computeOutput: none,
  });
  const all: ModelStatsSnapshot[] = local.map((m) => {
    const s = recorded.get(m.name);
    recorded.delete(m.name);
    return s === undefined ? blank(m) : { ...s, version: m.version };
  });
  for (const s of recorded.values()) if (s.version !== '') all.push(s);
  let wanted = version === '' ? all : all.filter((s) => s.version === version);
  if (name !== '') {
    // A capability names its model; a model known (here or remotely) but not used yet reads zeros.
    const info = findModel(view.catalog, name, version);
    wanted = wanted.filter((s) => s.name === info.name);
    if (wanted.length === 0) wanted = [blank(info)];
  }
  return wanted.map(tritonStatistics);
}
