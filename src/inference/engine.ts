// The local inference engine: loads every configured model, resolves a request by model name
// (preferred) or capability, validates it, applies configured faults and runs it.
import { CancelledError, DeadlineExceededError, ModelNotFoundError, ShuttingDownError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createSileroVadAdapter } from './adapters/silero-vad.ts';
import type { BatchListener } from './batch-stats.ts';
import type { ModelSpec } from './config.ts';
import { hostRawModel, type HostedModel } from './hosted-model.ts';
import { loadOrtModel, type OrtModel, type OrtModelHooks } from './ort-model.ts';
import type { InferRequest, InferResult, LocalInference, ModelInfo, ModelLoadStats } from './types.ts';
import { validateRequest } from './validate.ts';

export interface LocalInferenceInit {
  readonly models: readonly ModelSpec[];
  readonly logger: Logger;
  /** Sees every batched ORT run (raw-model batches and VAD steps): a hook for metrics. */
  readonly onBatch?: BatchListener;
  /** Metrics hooks, passed to every raw model (see OrtModelHooks). */
  readonly onQueueWait?: OrtModelHooks['onQueueWait'];
  readonly onCompute?: OrtModelHooks['onCompute'];
}

interface Entry {
  readonly spec: ModelSpec;
  readonly hosted: HostedModel;
}

export async function createLocalInference(init: LocalInferenceInit): Promise<LocalInference> {
  const { logger } = init;
  const raws = new Map<string, OrtModel>();
  const hooks: OrtModelHooks = {
    ...(init.onBatch !== undefined ? { onBatch: init.onBatch } : {}),
    ...(init.onQueueWait !== undefined ? { onQueueWait: init.onQueueWait } : {}),
    ...(init.onCompute !== undefined ? { onCompute: init.onCompute } : {}),
  };
  const entries: Entry[] = [];
  try {
    for (const spec of init.models) {
      if (spec.kind !== 'onnx') continue;
      const m = await loadOrtModel(spec, logger, hooks);
      raws.set(spec.name, m);
      entries.push({ spec, hosted: hostRawModel(m) });
    }
    for (const spec of init.models) {
      if (spec.kind !== 'adapter') continue;
      const raw = raws.get(spec.adapter.model);
      if (raw === undefined) throw new ModelNotFoundError(spec.adapter.model, `adapter '${spec.name}' references model '${spec.adapter.model}', which is not configured`);
      entries.push({ spec, hosted: createSileroVadAdapter(spec, raw, hooks) });
    }
  } catch (e) {
    await Promise.allSettled([...raws.values()].map((m) => m.close()));
    throw e;
  }
  // Keep config order for listing.
  const order = new Map(init.models.map((m, i) => [m.name, i]));
  entries.sort((a, b) => (order.get(a.spec.name) ?? 0) - (order.get(b.spec.name) ?? 0));

  let closing = false;
  let active = 0;
  let onIdle: (() => void) | undefined;

  function find(nameOrCapability: string, version?: string): Entry | undefined {
    const matchesVersion = (e: Entry): boolean => version === undefined || version === '' || e.spec.version === version;
    const exact = entries.find((e) => e.spec.name === nameOrCapability && matchesVersion(e));
    if (exact !== undefined) return exact;
    // Among models offering the capability: cheapest, then least loaded.
    const load = (e: Entry): number => {
      const s = e.hosted.stats();
      return s.inFlight + s.queued;
    };
    return entries
      .filter((e) => e.spec.capabilities.includes(nameOrCapability) && matchesVersion(e))
      .sort((a, b) => a.spec.price - b.spec.price || load(a) - load(b))[0];
  }

  async function infer(req: InferRequest): Promise<InferResult> {
    if (closing) throw new ShuttingDownError('local inference is shutting down');
    const entry = find(req.model, req.version);
    if (entry === undefined) {
      throw new ModelNotFoundError(req.model, `model or capability '${req.model}'${req.version !== undefined && req.version !== '' ? ` version '${req.version}'` : ''} is not served here`);
    }
    const { info } = entry.hosted;
    validateRequest(info, req.inputs, req.outputs);
    if (req.signal?.aborted === true) throw new CancelledError(`request '${req.id}' was cancelled`);
    if (req.deadline !== undefined && Date.now() >= req.deadline) throw new DeadlineExceededError(`deadline passed before model '${info.name}' could run`);
    const opts = { ...(req.deadline !== undefined ? { deadline: req.deadline } : {}), ...(req.signal !== undefined ? { signal: req.signal } : {}) };
    active++;
    try {
      // The model applies its configured fault once it holds a run slot.
      const outputs = await entry.hosted.run(req.inputs, req.outputs, opts);
      return { model: info.name, version: info.version, id: req.id, outputs, parameters: {} };
    } finally {
      active--;
      if (active === 0) onIdle?.();
    }
  }

  async function close(): Promise<void> {
    if (closing) return;
    closing = true;
    if (active > 0) await new Promise<void>((resolve) => { onIdle = resolve; });
    await Promise.allSettled([...raws.values()].map((m) => m.close()));
    logger.info({ models: entries.length }, 'local inference closed');
  }

  return {
    list: (): readonly ModelInfo[] => entries.map((e) => e.hosted.info),
    resolve: (nameOrCapability, version) => find(nameOrCapability, version)?.hosted.info,
    stats: (name): ModelLoadStats | undefined => entries.find((e) => e.spec.name === name)?.hosted.stats(),
    infer,
    close,
  };
}
