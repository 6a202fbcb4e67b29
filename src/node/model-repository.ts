// The node's model repository (the KServe v2 / Triton model repository extension, transport
// neutral): the models of the config file plus those loaded at run time with a config, each
// READY when the engine hosts it, else UNAVAILABLE with the reason. gRPC, REST and the config
// file watcher all change models through it; operations run one at a time so a reload
// (unload + load) is never interleaved with another change.
import { ConfigError, InvalidInputError, ModelNotFoundError } from '../errors.ts';
import { adapterTargets, compileModelSpecs, type ModelSpec } from '../inference/config.ts';
import type { LocalInference } from '../inference/types.ts';
import type { Logger } from '../logger.ts';
import { checkModelPath } from './auth/model-dirs.ts';

export type RepositoryModelState = 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

export interface RepositoryIndexEntry {
  readonly name: string;
  readonly version: string;
  readonly state: RepositoryModelState;
  readonly reason: string;
}

/** What a config file change did. */
export interface ApplySummary {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly reloaded: readonly string[];
  /** Models that failed to load, with why (the rest of the change still applied). */
  readonly failed: readonly { readonly name: string; readonly reason: string }[];
}

export interface ModelRepository {
  /** Every model in the repository, by name; `readyOnly`: only those serving. */
  index(readyOnly?: boolean): RepositoryIndexEntry[];
  /**
   * Load (or reload) a model. `config`: a JSON model entry, as under `models:` in the config
   * file, validated by the config compiler (ConfigError naming the field); without it the model
   * must already be in the repository (ModelNotFoundError).
   */
  load(name: string, opts?: { readonly config?: string }): Promise<void>;
  /** Unload; ModelNotFoundError when the repository has no such model. See LocalInference.unload. */
  unload(name: string, opts?: { readonly dependents?: boolean }): Promise<void>;
  /** The config file's models changed: load added ones, unload removed ones, reload changed ones. */
  applyConfigModels(specs: readonly ModelSpec[]): Promise<ApplySummary>;
}

export interface ModelRepositoryInit {
  readonly inference: LocalInference;
  /** The config file's models (or the embedded default), as loaded at start. */
  readonly models: readonly ModelSpec[];
  /** Relative model paths in a load's config resolve against this (the config file's directory). */
  readonly baseDir: string;
  readonly logger: Logger;
  /** Loads may only name model files under these directories (src/node/auth/model-dirs.ts); absent = anywhere. */
  readonly modelDirs?: readonly string[];
}

/** Longest model name accepted in a load or unload request (names in errors stay short). */
const MAX_MODEL_NAME_CHARS = 256;
/** Longest `config` accepted in a load request. */
export const MAX_LOAD_CONFIG_CHARS = 64 * 1024;

interface Known {
  spec: ModelSpec;
  /** 'config': from the config file (the watcher manages it); 'runtime': loaded with a config. */
  source: 'config' | 'runtime';
  /** Why it is not READY, when it is not. */
  reason: string;
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function createModelRepository(init: ModelRepositoryInit): ModelRepository {
  return new Repository(init);
}

const checkName = (name: string): void => {
  if (name === '') throw new InvalidInputError('model_name is required');
  if (name.length > MAX_MODEL_NAME_CHARS) throw new InvalidInputError(`model_name is ${name.length} characters; at most ${MAX_MODEL_NAME_CHARS} are allowed`);
};

/** A load's `config`, compiled as a model entry of the config file (`loaded`: the specs it may refer to). */
function compileEntry(init: ModelRepositoryInit, name: string, config: string, loaded: readonly ModelSpec[]): ModelSpec {
  if (config.length > MAX_LOAD_CONFIG_CHARS) throw new ConfigError(`config: ${config.length} characters; at most ${MAX_LOAD_CONFIG_CHARS} are accepted`);
  let entry: unknown;
  try {
    entry = JSON.parse(config);
  } catch (e) {
    throw new ConfigError(`config: not valid JSON: ${errorMessage(e)}`);
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new ConfigError('config: expected a JSON object (one model entry, as under "models:" in the config file)');
  const named = entry as Record<string, unknown>;
  if (named.name === undefined) named.name = name;
  else if (named.name !== name) throw new ConfigError(`config.name: ${JSON.stringify(named.name)} does not match the model name '${name}'`);
  if (init.modelDirs !== undefined) checkModelPath(named, init.baseDir, init.modelDirs);
  try {
    const [spec] = compileModelSpecs([named], init.baseDir, loaded);
    if (spec === undefined) throw new ConfigError('config: compiled to no model');
    return spec;
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(e.message.replace(/^models\[0\]/, 'config'));
    throw e;
  }
}

/** What a config file change means for the repository: which models go, come, reload, ride along. */
interface ConfigChange {
  readonly next: ReadonlyMap<string, ModelSpec>;
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
  /** Adapters (not themselves changed) on a removed or changed raw model: they go down with it. */
  readonly riders: string[];
  /** Riders whose raw models all stay: they come back. */
  readonly ridersBack: string[];
}

function planConfigChange(known: ReadonlyMap<string, Known>, specs: readonly ModelSpec[]): ConfigChange {
  const next = new Map(specs.map((s) => [s.name, s]));
  const same = (a: ModelSpec, b: ModelSpec): boolean => JSON.stringify(a) === JSON.stringify(b);
  const removed = [...known].filter(([n, k]) => k.source === 'config' && !next.has(n)).map(([n]) => n);
  const added = specs.filter((s) => !known.has(s.name)).map((s) => s.name);
  const changed = specs.filter((s) => { const k = known.get(s.name); return k !== undefined && !same(k.spec, s); }).map((s) => s.name);
  // Adapters on a removed or changed raw model go down with it; those still wanted come back.
  const goingRaw = new Set([...removed, ...changed].filter((n) => known.get(n)?.spec.kind === 'onnx'));
  const riderSpecs = [...known.values()].map((k) => k.spec)
    .filter((s) => s.kind === 'adapter' && adapterTargets(s).some((t) => goingRaw.has(t)) && !removed.includes(s.name) && !changed.includes(s.name));
  const riders = riderSpecs.map((s) => s.name);
  // Riders whose raw model stays (reloaded) come back; the others stay down.
  const ridersBack = riderSpecs.filter((s) => s.kind === 'adapter' && adapterTargets(s).every((t) => next.has(t))).map((s) => s.name);
  return { next, added, removed, changed, riders, ridersBack };
}

class Repository implements ModelRepository {
  readonly #init: ModelRepositoryInit;
  readonly #inference: LocalInference;
  readonly #logger: Logger;
  readonly #known: Map<string, Known>;
  readonly #transient = new Map<string, 'LOADING' | 'UNLOADING'>();
  #chain: Promise<unknown> = Promise.resolve();

  constructor(init: ModelRepositoryInit) {
    this.#init = init;
    this.#inference = init.inference;
    this.#logger = init.logger;
    this.#known = new Map<string, Known>(init.models.map((spec) => [spec.name, { spec, source: 'config', reason: '' }]));
  }

  /** Run one repository operation after the previous one settled. */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(op, op);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #isLoaded(name: string): boolean {
    return this.#inference.list().some((m) => m.name === name);
  }

  #loadedSpecs(except: string): ModelSpec[] {
    return [...this.#known.values()].map((k) => k.spec).filter((s) => s.name !== except && this.#isLoaded(s.name));
  }

  #adaptersOn(name: string): ModelSpec[] {
    return [...this.#known.values()].map((k) => k.spec).filter((s) => s.kind === 'adapter' && adapterTargets(s).includes(name));
  }

  /** Engine load, remembering why it failed for the index. */
  async #loadSpec(spec: ModelSpec, source: Known['source']): Promise<void> {
    this.#transient.set(spec.name, 'LOADING');
    try {
      await this.#inference.load(spec);
      this.#known.set(spec.name, { spec, source, reason: '' });
    } catch (e) {
      const prev = this.#known.get(spec.name);
      if (prev !== undefined) prev.reason = `load failed: ${errorMessage(e)}`;
      throw e;
    } finally {
      this.#transient.delete(spec.name);
    }
  }

  async #unloadLoaded(name: string, dependents: boolean): Promise<string[]> {
    const deps = this.#inference.list().filter((m) => this.#adaptersOn(name).some((s) => s.name === m.name)).map((m) => m.name);
    this.#transient.set(name, 'UNLOADING');
    try {
      await this.#inference.unload(name, { dependents });
    } finally {
      this.#transient.delete(name);
    }
    for (const n of [name, ...(dependents ? deps : [])]) {
      const k = this.#known.get(n);
      if (k !== undefined) k.reason = 'unloaded';
    }
    return dependents ? deps : [];
  }

  /** Load each named model that is known; a failure is logged (`what` starts its line), indexed and returned. */
  async #loadAll(names: readonly string[], what: (n: string) => string): Promise<{ name: string; reason: string }[]> {
    const failed: { name: string; reason: string }[] = [];
    for (const n of names) {
      const k = this.#known.get(n);
      if (k === undefined) continue;
      try {
        await this.#loadSpec(k.spec, k.source);
      } catch (e) {
        this.#logger.error({ model: n, err: e }, `${what(n)}: ${errorMessage(e)}`);
        failed.push({ name: n, reason: errorMessage(e) });
      }
    }
    return failed;
  }

  index(readyOnly = false): RepositoryIndexEntry[] {
    const names = new Set([...this.#known.keys(), ...this.#inference.list().map((m) => m.name)]);
    const out: RepositoryIndexEntry[] = [];
    for (const name of [...names].sort()) {
      const k = this.#known.get(name);
      const info = this.#inference.list().find((m) => m.name === name);
      const state: RepositoryModelState = this.#transient.get(name) ?? (info?.ready === true ? 'READY' : 'UNAVAILABLE');
      if (readyOnly && state !== 'READY') continue;
      out.push({ name, version: info?.version ?? k?.spec.version ?? '', state, reason: state === 'UNAVAILABLE' ? k?.reason ?? '' : '' });
    }
    return out;
  }

  load(name: string, opts: { readonly config?: string } = {}): Promise<void> {
    return this.#serial(async () => {
      checkName(name);
      const prev = this.#known.get(name);
      let spec: ModelSpec;
      if (opts.config !== undefined) spec = compileEntry(this.#init, name, opts.config, this.#loadedSpecs(name));
      else if (prev !== undefined) spec = prev.spec;
      else throw new ModelNotFoundError(name, `model '${name}' is not in the model repository; give its entry in the 'config' parameter to load it`);
      // Reload: the adapters on a raw model go with it and come back after.
      const deps = this.#isLoaded(name) ? await this.#unloadLoaded(name, true) : [];
      await this.#loadSpec(spec, opts.config !== undefined ? 'runtime' : prev?.source ?? 'runtime');
      this.#logger.info({ model: name, reloaded: deps }, `repository: model ${name} loaded`);
      // The adapters that went with a reloaded raw model: failures only logged (and indexed).
      await this.#loadAll(deps, (n) => `could not reload adapter ${n} after its raw model`);
    });
  }

  unload(name: string, opts: { readonly dependents?: boolean } = {}): Promise<void> {
    return this.#serial(async () => {
      checkName(name);
      if (!this.#isLoaded(name)) {
        if (this.#known.has(name)) return;
        throw new ModelNotFoundError(name, `model '${name}' is not in the model repository`);
      }
      const deps = await this.#unloadLoaded(name, opts.dependents === true);
      this.#logger.info({ model: name, dependents: deps }, `repository: model ${name} unloaded`);
    });
  }

  applyConfigModels(specs: readonly ModelSpec[]): Promise<ApplySummary> {
    return this.#serial(async () => {
      const known = this.#known;
      const { next, added, removed, changed, riders, ridersBack } = planConfigChange(known, specs);
      const down = [...removed, ...changed, ...riders];
      const isAdapter = (n: string): boolean => (next.get(n) ?? known.get(n)?.spec)?.kind === 'adapter';
      for (const n of [...down.filter(isAdapter), ...down.filter((n) => !isAdapter(n))]) {
        if (!this.#isLoaded(n)) continue;
        // Wider than asked only for adapters not listed (loaded at run time on this raw model).
        await this.#unloadLoaded(n, true);
      }
      for (const n of removed) known.delete(n);
      for (const n of [...added, ...changed]) {
        const spec = next.get(n);
        if (spec !== undefined) known.set(n, { spec, source: 'config', reason: 'not loaded yet' });
      }
      for (const n of riders) {
        const k = known.get(n);
        if (k !== undefined && !ridersBack.includes(n)) k.reason = 'unloaded: its raw model left the config file';
      }
      const up = [...added, ...changed, ...ridersBack];
      const failed = await this.#loadAll([...up.filter((n) => !isAdapter(n)), ...up.filter(isAdapter)], (n) => `config: could not load model ${n}`);
      return { added, removed, reloaded: [...changed, ...ridersBack], failed };
    });
  }
}
