// The local inference engine: hosts models (loaded at start or at run time), resolves a request
// by model name (preferred) or capability, validates it, applies configured faults and runs it.
// Unloading takes a model out of lookup at once, lets its in-flight queries finish, then
// releases the session.
import { CancelledError, DeadlineExceededError, ModelInUseError, ModelNotFoundError, ShuttingDownError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { BatchListener } from './batch-stats.ts';
import { adapterTargets, DEFAULT_INFERENCE_SETTINGS, type InferenceSettings, type ModelSpec } from './config.ts';
import { findEntry, hostEntry, releaseEntry, type Entry, type EntryContext } from './engine-entry.ts';
import { untilDeadline } from './deadline.ts';
import { applyAnswerFault } from './fault.ts';
import { createInProcessHost, type ModelHost } from './model-host.ts';
import type { StepDispatcher } from './pipeline/runner.ts';
import type { OrtModelHooks } from './ort-model.ts';
import type { PhaseListener, RunPhases } from './run-phases.ts';
import type { InferRequest, InferResult, LocalInference, ModelInfo, ModelLoadStats, ParamValue, Tensor, UnloadOptions } from './types.ts';
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

export async function createLocalInference(init: LocalInferenceInit): Promise<LocalInference> {
  const engine = new LocalEngine(init);
  await engine.start();
  // A plain object of bound functions, as before: callers may spread it (a test wraps infer so).
  return {
    list: () => engine.list(),
    resolve: (nameOrCapability, version) => engine.find(nameOrCapability, version)?.hosted.info,
    stats: (name) => engine.stats(name),
    infer: (req) => engine.infer(req),
    load: (spec) => engine.load(spec),
    unload: (name, opts) => engine.unload(name, opts),
    onChange: (listener) => engine.onChange(listener),
    onActivity: (listener) => engine.onActivity(listener),
    close: () => engine.close(),
  };
}

class LocalEngine {
  readonly #init: LocalInferenceInit;
  readonly #logger: Logger;
  readonly #settings: InferenceSettings;
  readonly #context: EntryContext;
  // Listing order: config order for the start-up set, then run-time loads in load order.
  readonly #entries: Entry[] = [];
  /** Names being loaded (and their specs, so an unload can see adapters on the way). */
  readonly #loading = new Map<string, ModelSpec>();
  /** Names being unloaded: a load of the same name waits for the release first. */
  readonly #unloading = new Map<string, Promise<void>>();
  readonly #listeners = new Set<() => void>();
  readonly #activity = new Set<() => void>();
  #closing = false;
  /** Made with the first raw model: a pure router starts no worker and never loads ORT. */
  #modelHost: Promise<ModelHost> | undefined;

  constructor(init: LocalInferenceInit) {
    this.#init = init;
    this.#logger = init.logger;
    this.#settings = init.settings ?? DEFAULT_INFERENCE_SETTINGS;
    const hooks: OrtModelHooks = {
      ...(init.onBatch !== undefined ? { onBatch: init.onBatch } : {}),
      ...(init.onQueueWait !== undefined ? { onQueueWait: init.onQueueWait } : {}),
      ...(init.onCompute !== undefined ? { onCompute: init.onCompute } : {}),
    };
    this.#context = {
      logger: init.logger, hooks,
      rawModel: (name) => this.#byName(name)?.raw,
      modelHost: () => (this.#modelHost ??= this.#makeHost()),
      steps: init.steps ?? { infer: (req) => this.infer(req) },
    };
  }

  /** Host the start-up models: raw ones first, then the adapters on them, then pipelines; listed in config order. */
  async start(): Promise<void> {
    const { models } = this.#init;
    try {
      for (const kind of ['onnx', 'adapter', 'pipeline'] as const) {
        for (const spec of models) if (spec.kind === kind) this.#entries.push(await hostEntry(spec, this.#context));
      }
    } catch (e) {
      await Promise.allSettled(this.#entries.map((e) => e.hosted.close()));
      await (await this.#modelHost?.catch(() => undefined))?.close();
      throw e;
    }
    const order = new Map(models.map((m, i) => [m.name, i]));
    this.#entries.sort((a, b) => (order.get(a.spec.name) ?? 0) - (order.get(b.spec.name) ?? 0));
  }

  list(): readonly ModelInfo[] {
    return this.#entries.map((e) => e.hosted.info);
  }

  find(nameOrCapability: string, version?: string): Entry | undefined {
    return findEntry(this.#entries, nameOrCapability, version);
  }

  stats(name: string): ModelLoadStats | undefined {
    const e = this.#byName(name);
    if (e === undefined) return undefined;
    const s = e.hosted.stats();
    // TESTING ONLY: fault.advertiseComputeMs makes the node lie about its compute time in adverts.
    const lie = e.spec.fault.advertiseComputeMs;
    return lie === undefined ? s : { ...s, computeMs: lie };
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  onActivity(listener: () => void): () => void {
    this.#activity.add(listener);
    return () => { this.#activity.delete(listener); };
  }

  async infer(req: InferRequest): Promise<InferResult> {
    if (this.#closing) throw new ShuttingDownError('local inference is shutting down');
    const entry = this.find(req.model, req.version);
    if (entry === undefined) {
      throw new ModelNotFoundError(req.model, `model or capability '${req.model}'${req.version !== undefined && req.version !== '' ? ` version '${req.version}'` : ''} is not served here`);
    }
    const { info } = entry.hosted;
    const { onPhases } = this.#init;
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
    const ran = await untilDeadline(this.#run(entry, req.inputs, req.outputs, opts), req.deadline, `model '${info.name}'`);
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

  /**
   * The entry's run, counted on the entry itself while it lasts (past a deadline that answered
   * the caller too), so a query that started before an unload keeps it alive.
   */
  #run(entry: Entry, ...args: Parameters<Entry['hosted']['run']>): Promise<Tensor[]> {
    entry.active++;
    this.#changed(this.#activity);
    // The model applies its configured fault once it holds a run slot.
    return entry.hosted.run(...args).finally(() => {
      entry.active--;
      if (entry.active === 0) entry.onIdle?.();
      this.#changed(this.#activity);
    });
  }

  async load(spec: ModelSpec): Promise<ModelInfo> {
    const { name } = spec;
    await this.#unloading.get(name)?.catch(() => undefined);
    if (this.#closing) throw new ShuttingDownError('local inference is shutting down');
    if (this.#byName(name) !== undefined) throw new ModelInUseError(`model '${name}' is already loaded; unload it first`);
    if (this.#loading.has(name)) throw new ModelInUseError(`model '${name}' is being loaded`);
    this.#loading.set(name, spec);
    let entry: Entry;
    try {
      entry = await hostEntry(spec, this.#context);
    } finally {
      this.#loading.delete(name);
    }
    if (this.#closing) {
      await entry.hosted.close();
      throw new ShuttingDownError('local inference is shutting down');
    }
    this.#entries.push(entry);
    this.#logger.info({ model: name, kind: spec.kind }, `model ${name} loaded`);
    this.#changed();
    return entry.hosted.info;
  }

  unload(name: string, opts: UnloadOptions = {}): Promise<void> {
    const pending = this.#unloading.get(name);
    if (pending !== undefined) return pending;
    const entry = this.#byName(name);
    if (entry === undefined) {
      if (this.#loading.has(name)) return Promise.reject(new ModelInUseError(`model '${name}' is being loaded; unload it once it is`));
      return Promise.reject(new ModelNotFoundError(name, `model '${name}' is not loaded here`));
    }
    const runsOn = (s: ModelSpec): boolean => s.kind === 'adapter' && adapterTargets(s).includes(name);
    const dependents = [...this.#entries.filter((e) => runsOn(e.spec)).map((e) => e.spec.name),
      ...[...this.#loading.values()].filter(runsOn).map((s) => s.name)];
    if (dependents.length > 0 && opts.dependents !== true) {
      return Promise.reject(new ModelInUseError(
        `refused to unload model '${name}': adapter(s) ${dependents.map((d) => `'${d}'`).join(', ')} run on it; unload them first, or unload with dependents (unload_dependents)`,
      ));
    }
    if (dependents.some((d) => this.#loading.has(d))) {
      return Promise.reject(new ModelInUseError(`refused to unload model '${name}': an adapter on it is being loaded`));
    }
    return this.#remove(entry, dependents);
  }

  /** Out of lookup at once (adapters with their raw model); releasing waits for in-flight queries. */
  #remove(entry: Entry, dependents: readonly string[]): Promise<void> {
    const name = entry.spec.name;
    const gone = this.#entries.filter((e) => e === entry || dependents.includes(e.spec.name));
    for (const e of gone) this.#entries.splice(this.#entries.indexOf(e), 1);
    this.#changed();
    const done = (async () => {
      // Adapters first: they run on the raw model's session.
      await Promise.all(gone.filter((e) => e !== entry).map(releaseEntry));
      await releaseEntry(entry);
      this.#logger.info({ model: name, dependents }, `model ${name} unloaded`);
    })().finally(() => {
      for (const e of gone) this.#unloading.delete(e.spec.name);
    });
    for (const e of gone) this.#unloading.set(e.spec.name, done);
    return done;
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await Promise.allSettled(this.#unloading.values());
    await Promise.allSettled(this.#entries.filter((e) => e.raw === undefined).map(releaseEntry));
    await Promise.allSettled(this.#entries.filter((e) => e.raw !== undefined).map(releaseEntry));
    await (await this.#modelHost?.catch(() => undefined))?.close();
    this.#logger.info({ models: this.#entries.length }, 'local inference closed');
  }

  #byName(name: string): Entry | undefined {
    return this.#entries.find((e) => e.spec.name === name);
  }

  async #makeHost(): Promise<ModelHost> {
    if (this.#settings.workers === 0) return createInProcessHost(this.#settings.audio);
    const { createWorkerHost } = await import('./worker/worker-host.ts');
    return createWorkerHost(this.#settings, this.#logger);
  }

  #changed(set: ReadonlySet<() => void> = this.#listeners): void {
    for (const listener of set) {
      try {
        listener();
      } catch (e) {
        this.#logger.error({ err: e }, 'model change listener failed');
      }
    }
  }
}
