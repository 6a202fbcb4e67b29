// The local inference engine: hosts models (loaded at start or at run time), resolves a request
// by model name (preferred) or capability, validates it, applies configured faults and runs it.
// Unloading takes a model out of lookup at once, lets its in-flight queries finish, then
// releases the session.
import { CancelledError, DeadlineExceededError, ModelInUseError, ModelNotFoundError, ShuttingDownError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createOcrAdapter } from './adapters/ocr/ocr-adapter.ts';
import { createSileroVadAdapter } from './adapters/silero-vad.ts';
import type { BatchListener } from './batch-stats.ts';
import { adapterTargets, DEFAULT_INFERENCE_SETTINGS, type InferenceSettings, type ModelSpec } from './config.ts';
import { hostRawModel, type HostedModel } from './hosted-model.ts';
import { untilDeadline } from './deadline.ts';
import { applyAnswerFault } from './fault.ts';
import { createInProcessHost, type ModelHost } from './model-host.ts';
import { createPipelineModel } from './pipeline/pipeline-model.ts';
import type { StepDispatcher } from './pipeline/runner.ts';
import type { OrtModel, OrtModelHooks } from './ort-model.ts';
import type { PhaseListener, RunPhases } from './run-phases.ts';
import type { InferRequest, InferResult, LocalInference, ModelInfo, ModelLoadStats, ParamValue, UnloadOptions } from './types.ts';
import { validateRequest } from './validate.ts';

export interface LocalInferenceInit {
  readonly models: readonly ModelSpec[];
  readonly logger: Logger;
  /** Sees every batched ORT run (raw-model batches and VAD steps): a hook for metrics. */
  readonly onBatch?: BatchListener;
  /** Metrics hooks, passed to every raw model (see OrtModelHooks). */
  readonly onQueueWait?: OrtModelHooks['onQueueWait'];
  readonly onCompute?: OrtModelHooks['onCompute'];
  /** Each successful request's input preparation and output building (and an adapter's execution). */
  readonly onPhases?: PhaseListener;
  /** Worker threads and audio limits (`inference:` in the config file); defaults when absent. */
  readonly settings?: InferenceSettings;
  /**
   * Where pipelines send their steps: the node's routed dispatcher (so a step runs wherever the
   * routing table says). Absent: this engine itself (every step must be hosted here).
   */
  readonly steps?: StepDispatcher;
}

interface Entry {
  readonly spec: ModelSpec;
  readonly hosted: HostedModel;
  /** The session owner, for raw models (adapters run on their raw model's). */
  readonly raw?: OrtModel;
  /** Queries running on this entry; unload waits for 0. */
  active: number;
  onIdle?: () => void;
}

export async function createLocalInference(init: LocalInferenceInit): Promise<LocalInference> {
  const { logger, onPhases } = init;
  const hooks: OrtModelHooks = {
    ...(init.onBatch !== undefined ? { onBatch: init.onBatch } : {}),
    ...(init.onQueueWait !== undefined ? { onQueueWait: init.onQueueWait } : {}),
    ...(init.onCompute !== undefined ? { onCompute: init.onCompute } : {}),
  };
  // Listing order: config order for the start-up set, then run-time loads in load order.
  const entries: Entry[] = [];
  /** Names being loaded (and their specs, so an unload can see adapters on the way). */
  const loading = new Map<string, ModelSpec>();
  /** Names being unloaded: a load of the same name waits for the release first. */
  const unloading = new Map<string, Promise<void>>();
  const listeners = new Set<() => void>();
  const activity = new Set<() => void>();
  let closing = false;
  const settings = init.settings ?? DEFAULT_INFERENCE_SETTINGS;
  /** Made with the first raw model: a pure router starts no worker and never loads ORT. */
  let modelHost: Promise<ModelHost> | undefined;
  async function makeHost(): Promise<ModelHost> {
    if (settings.workers === 0) return createInProcessHost(settings.audio);
    const { createWorkerHost } = await import('./worker/worker-host.ts');
    return createWorkerHost(settings.workers, settings.audio, logger);
  }

  const byName = (name: string): Entry | undefined => entries.find((e) => e.spec.name === name);

  async function host(spec: ModelSpec): Promise<Entry> {
    if (spec.kind === 'onnx') {
      const { loadOrtModel } = await import('./ort-model.ts');
      const raw = await loadOrtModel(spec, logger, hooks, await (modelHost ??= makeHost()));
      return { spec, hosted: hostRawModel(raw), raw, active: 0 };
    }
    if (spec.kind === 'pipeline') return { spec, hosted: createPipelineModel(spec, init.steps ?? { infer }), active: 0 };
    const targets = adapterTargets(spec).map((name) => {
      const target = byName(name)?.raw;
      if (target === undefined) {
        throw new ModelNotFoundError(name, `adapter '${spec.name}' references model '${name}', which is not loaded as a raw ONNX model`);
      }
      return target;
    });
    const { adapter } = spec;
    const hosted = adapter.type === 'ocr' ? createOcrAdapter({ ...spec, adapter }, targets, init.steps ?? { infer }) : createSileroVadAdapter({ ...spec, adapter }, targets[0] as OrtModel, hooks);
    return { spec, hosted, active: 0 };
  }

  function changed(set: ReadonlySet<() => void> = listeners): void {
    for (const listener of set) {
      try {
        listener();
      } catch (e) {
        logger.error({ err: e }, 'model change listener failed');
      }
    }
  }

  /** Wait for the entry's in-flight queries, then release what it holds. */
  async function release(entry: Entry): Promise<void> {
    if (entry.active > 0) await new Promise<void>((resolve) => { entry.onIdle = resolve; });
    await entry.hosted.close();
  }

  try {
    for (const spec of init.models) if (spec.kind === 'onnx') entries.push(await host(spec));
    for (const spec of init.models) if (spec.kind === 'adapter') entries.push(await host(spec));
    for (const spec of init.models) if (spec.kind === 'pipeline') entries.push(await host(spec));
  } catch (e) {
    await Promise.allSettled(entries.map((e) => e.hosted.close()));
    await (await modelHost?.catch(() => undefined))?.close();
    throw e;
  }
  const order = new Map(init.models.map((m, i) => [m.name, i]));
  entries.sort((a, b) => (order.get(a.spec.name) ?? 0) - (order.get(b.spec.name) ?? 0));

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
    const i0 = performance.now();
    validateRequest(info, req.inputs, req.outputs);
    // Timed only for a listener (metrics); an adapter adds its decoding and post-processing.
    const phases: RunPhases | undefined = onPhases && { inputMs: performance.now() - i0, outputMs: 0 };
    if (req.signal?.aborted === true) throw new CancelledError(`request '${req.id}' was cancelled`);
    if (req.deadline !== undefined && Date.now() >= req.deadline) throw new DeadlineExceededError(`deadline passed before model '${info.name}' could run`);
    const answer: Record<string, ParamValue> = {};
    const opts = {
      ...(req.deadline !== undefined ? { deadline: req.deadline } : {}), ...(req.signal !== undefined ? { signal: req.signal } : {}),
      ...(req.trace !== undefined ? { trace: req.trace } : {}), ...(phases !== undefined ? { phases } : {}),
      request: { id: req.id, parameters: req.parameters, tenant: req.tenant }, answer,
    };
    // Counted on the entry itself while the run lasts (past a deadline that answered the caller
    // too), so a query that started before an unload keeps it alive.
    entry.active++;
    changed(activity);
    // The model applies its configured fault once it holds a run slot.
    const run = entry.hosted.run(req.inputs, req.outputs, opts).finally(() => {
      entry.active--;
      if (entry.active === 0) entry.onIdle?.();
      changed(activity);
    });
    const ran = await untilDeadline(run, req.deadline, `model '${info.name}'`);
    const o0 = performance.now();
    const fault = entry.spec.fault;
    const outputs = (fault.dropRate ?? 0) > 0 || (fault.corruptRate ?? 0) > 0 ? await applyAnswerFault(info.name, fault, ran, opts) : ran;
    const result = { model: info.name, version: info.version, id: req.id, outputs, parameters: answer };
    if (phases !== undefined) {
      phases.outputMs += performance.now() - o0;
      onPhases?.(info.name, phases);
    }
    return result;
  }

  async function load(spec: ModelSpec): Promise<ModelInfo> {
    const { name } = spec;
    await unloading.get(name)?.catch(() => undefined);
    if (closing) throw new ShuttingDownError('local inference is shutting down');
    if (byName(name) !== undefined) throw new ModelInUseError(`model '${name}' is already loaded; unload it first`);
    if (loading.has(name)) throw new ModelInUseError(`model '${name}' is being loaded`);
    loading.set(name, spec);
    let entry: Entry;
    try {
      entry = await host(spec);
    } finally {
      loading.delete(name);
    }
    if (closing) {
      await entry.hosted.close();
      throw new ShuttingDownError('local inference is shutting down');
    }
    entries.push(entry);
    logger.info({ model: name, kind: spec.kind }, `model ${name} loaded`);
    changed();
    return entry.hosted.info;
  }

  function unload(name: string, opts: UnloadOptions = {}): Promise<void> {
    const pending = unloading.get(name);
    if (pending !== undefined) return pending;
    const entry = byName(name);
    if (entry === undefined) {
      if (loading.has(name)) return Promise.reject(new ModelInUseError(`model '${name}' is being loaded; unload it once it is`));
      return Promise.reject(new ModelNotFoundError(name, `model '${name}' is not loaded here`));
    }
    const runsOn = (s: ModelSpec): boolean => s.kind === 'adapter' && adapterTargets(s).includes(name);
    const dependents = [...entries.filter((e) => runsOn(e.spec)).map((e) => e.spec.name),
      ...[...loading.values()].filter(runsOn).map((s) => s.name)];
    if (dependents.length > 0 && opts.dependents !== true) {
      return Promise.reject(new ModelInUseError(
        `refused to unload model '${name}': adapter(s) ${dependents.map((d) => `'${d}'`).join(', ')} run on it; unload them first, or unload with dependents (unload_dependents)`,
      ));
    }
    if (dependents.some((d) => loading.has(d))) {
      return Promise.reject(new ModelInUseError(`refused to unload model '${name}': an adapter on it is being loaded`));
    }
    // Out of lookup at once (adapters with their raw model); releasing waits for in-flight queries.
    const gone = entries.filter((e) => e === entry || dependents.includes(e.spec.name));
    for (const e of gone) entries.splice(entries.indexOf(e), 1);
    changed();
    const done = (async () => {
      // Adapters first: they run on the raw model's session.
      await Promise.all(gone.filter((e) => e !== entry).map(release));
      await release(entry);
      logger.info({ model: name, dependents }, `model ${name} unloaded`);
    })().finally(() => {
      for (const e of gone) unloading.delete(e.spec.name);
    });
    for (const e of gone) unloading.set(e.spec.name, done);
    return done;
  }

  async function close(): Promise<void> {
    if (closing) return;
    closing = true;
    await Promise.allSettled(unloading.values());
    await Promise.allSettled(entries.filter((e) => e.raw === undefined).map(release));
    await Promise.allSettled(entries.filter((e) => e.raw !== undefined).map(release));
    await (await modelHost?.catch(() => undefined))?.close();
    logger.info({ models: entries.length }, 'local inference closed');
  }

  return {
    list: (): readonly ModelInfo[] => entries.map((e) => e.hosted.info),
    resolve: (nameOrCapability, version) => find(nameOrCapability, version)?.hosted.info,
    stats: (name): ModelLoadStats | undefined => {
      const e = byName(name);
      if (e === undefined) return undefined;
      const s = e.hosted.stats();
      // TESTING ONLY: fault.advertiseComputeMs makes the node lie about its compute time in adverts.
      const lie = e.spec.fault.advertiseComputeMs;
      return lie === undefined ? s : { ...s, computeMs: lie };
    },
    infer,
    load,
    unload,
    onChange(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
    onActivity(listener) {
      activity.add(listener);
      return () => { activity.delete(listener); };
    },
    close,
  };
}
