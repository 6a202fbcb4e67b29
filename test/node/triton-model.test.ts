// The pure parts of Triton parity and the route gauge: model config from a model's signature and
// load stats, statistics bookkeeping, and routes counted per capability.
import { describe, expect, it } from 'vitest';
import type { ModelInfo, ModelLoadStats } from '../../src/inference/types.ts';
import { createModelStatsRecorder } from '../../src/node/model-stats.ts';
import { countCapabilityRoutes, MAX_CAPABILITIES } from '../../src/node/route-metrics.ts';
import { tritonModelConfig } from '../../src/node/triton-model.ts';

const info = (over: Partial<ModelInfo> = {}): ModelInfo => ({
  name: 'm', version: '1', platform: 'onnxruntime_onnx', capabilities: [],
  inputs: [{ name: 'x', datatype: 'FP16', shape: [-1, 3, 224, 224] }],
  outputs: [{ name: 'y', datatype: 'BYTES', shape: [-1] }],
  requestedProvider: 'cuda', provider: 'cuda', price: 0, ready: true, ...over,
});
const stats = (batching?: { maxBatchSize: number; maxQueueDelayUs: number; onDim0?: boolean }): ModelLoadStats => ({
  name: 'm', computeMs: 0, inFlight: 0, queued: 0, maxConcurrent: 3, maxQueue: 64,
  ...(batching === undefined ? {} : { batching: { onDim0: true, ...batching, batches: 0, items: 0, largest: 0, histogram: [] } }),
});

describe('tritonModelConfig', () => {
  it('a batching model on a GPU: batch dim left out, KIND_GPU, TYPE_STRING for BYTES', () => {
    const c = tritonModelConfig(info(), stats({ maxBatchSize: 16, maxQueueDelayUs: 100 }));
    expect(c).toEqual({
      name: 'm', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 16,
      input: [{ name: 'x', data_type: 'TYPE_FP16', dims: [3, 224, 224] }],
      output: [{ name: 'y', data_type: 'TYPE_STRING', dims: [] }],
      instance_group: [{ name: 'm', kind: 'KIND_GPU', count: 3, gpus: [0] }],
      dynamic_batching: { preferred_batch_size: [], max_queue_delay_microseconds: 100 },
    });
  });

  it('no dynamic dim 0 on every tensor: max_batch_size 0 and full dims, even with batching; remote: one CPU instance', () => {
    const fixed = info({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], provider: 'cpu', platform: 'plexus_adapter' });
    const c = tritonModelConfig(fixed, stats({ maxBatchSize: 8, maxQueueDelayUs: 0 }));
    expect(c).toMatchObject({ backend: 'plexus', max_batch_size: 0, input: [{ dims: [1, 4] }], output: [{ dims: [-1] }] });
    expect(c.dynamic_batching).toBeDefined();
    // Dim 0 dynamic everywhere, but batched on another axis (batching.axes): not Triton's batch dim.
    const onAxis1 = tritonModelConfig(info(), stats({ maxBatchSize: 16, maxQueueDelayUs: 0, onDim0: false }));
    expect(onAxis1).toMatchObject({ max_batch_size: 0, input: [{ dims: [-1, 3, 224, 224] }], output: [{ dims: [-1] }] });
    expect(onAxis1.dynamic_batching).toBeDefined();
    const remote = tritonModelConfig(fixed, undefined);
    expect(remote.instance_group).toEqual([{ name: 'm', kind: 'KIND_CPU', count: 1, gpus: [] }]);
    expect(remote.dynamic_batching).toBeUndefined();
  });

  it('a model on WebGPU is a GPU instance too; one that fell back from it to CPU is not', () => {
    expect(tritonModelConfig(info({ requestedProvider: 'webgpu', provider: 'webgpu' }), stats()).instance_group).toEqual([{ name: 'm', kind: 'KIND_GPU', count: 3, gpus: [0] }]);
    expect(tritonModelConfig(info({ requestedProvider: 'webgpu', provider: 'cpu' }), stats()).instance_group).toEqual([{ name: 'm', kind: 'KIND_CPU', count: 3, gpus: [] }]);
  });
});

describe('model statistics recorder', () => {
  it('adds counts and nanoseconds; last_inference is the latest request or run', () => {
    const r = createModelStatsRecorder();
    r.request('m', '1', true, 2.5, 1000);
    r.request('m', '1', false, 1, 900);
    r.queueWait('raw', 0.25);
    r.compute('raw', 1.5, 2000);
    r.compute('raw', 0.5, 1500);
    const [m, raw] = r.snapshot();
    expect(m).toMatchObject({ name: 'm', version: '1', lastInference: 1000, inferenceCount: 1, executionCount: 0, success: { count: 1, ns: 2_500_000 }, fail: { count: 1, ns: 1_000_000 } });
    expect(raw).toMatchObject({ name: 'raw', version: '', lastInference: 2000, executionCount: 2, queue: { count: 1, ns: 250_000 }, computeInfer: { count: 2, ns: 2_000_000 } });
  });

  it('adds input and output phases per request', () => {
    const r = createModelStatsRecorder();
    r.phases('m', 0.5, 0.25);
    r.phases('m', 1, 0);
    const [m] = r.snapshot();
    expect(m).toMatchObject({ computeInput: { count: 2, ns: 1_500_000 }, computeOutput: { count: 2, ns: 250_000 }, executionCount: 0 });
  });
});

describe('countCapabilityRoutes', () => {
  it('counts routes per capability and keeps a capability once seen at 0', () => {
    const seen = new Set<string>();
    expect(countCapabilityRoutes([{ capabilities: ['a.b', 'c.d'] }, { capabilities: ['a.b'] }], seen)).toEqual(new Map([['a.b', 2], ['c.d', 1]]));
    expect(countCapabilityRoutes([{ capabilities: ['c.d'] }], seen)).toEqual(new Map([['c.d', 1], ['a.b', 0]]));
  });

  it('remembers at most MAX_CAPABILITIES names', () => {
    const seen = new Set<string>();
    const many = Array.from({ length: MAX_CAPABILITIES + 5 }, (_, i) => ({ capabilities: [`cap.n${i}`] }));
    expect(countCapabilityRoutes(many, seen).size).toBe(MAX_CAPABILITIES);
  });
});
