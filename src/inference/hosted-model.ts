// What the engine hosts: raw ONNX models and capability adapters behind one interface.
import type { AcquireOptions } from './run-limiter.ts';
import type { OrtModel } from './ort-model.ts';
import type { ModelInfo, ModelLoadStats, Tensor } from './types.ts';

export interface HostedModel {
  readonly info: ModelInfo;
  stats(): ModelLoadStats;
  /** Run validated inputs; returns the requested outputs (all when `outputs` is empty). */
  run(inputs: readonly Tensor[], outputs: readonly string[], opts: AcquireOptions): Promise<Tensor[]>;
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
      name: info.name, computeMs: m.compute.value, inFlight: m.limiter.inFlight, queued: m.limiter.queued,
      maxConcurrent: m.limiter.maxConcurrent, maxQueue: m.limiter.maxQueue,
    }),
    run: (inputs, outputs, opts) => m.run(inputs, outputs, opts),
    close: () => m.close(),
  };
}
