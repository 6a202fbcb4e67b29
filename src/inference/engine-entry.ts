// One model the engine hosts (an entry of its list): how an entry is made from its spec, how a
// request picks one by name or capability, and how one is released once its queries finish.
import { ModelNotFoundError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { adapterTargets, type ModelSpec } from './config.ts';
import { hostRawModel, type HostedModel } from './hosted-model.ts';
import type { ModelHost } from './model-host.ts';
import type { StepDispatcher } from './pipeline/runner.ts';
import type { OrtModel, OrtModelHooks } from './ort-model.ts';

export interface Entry {
  readonly spec: ModelSpec;
  readonly hosted: HostedModel;
  /** The session owner, for raw models (adapters run on their raw model's). */
  readonly raw?: OrtModel;
  /** Queries running on this entry; unload waits for 0. */
  active: number;
  onIdle?: () => void;
}

/** What hostEntry needs of the engine. */
export interface EntryContext {
  readonly logger: Logger;
  readonly hooks: OrtModelHooks;
  /** The raw model of that name among the hosted ones. */
  rawModel(name: string): OrtModel | undefined;
  /** Made with the first raw model: a pure router starts no worker and never loads ORT. */
  modelHost(): Promise<ModelHost>;
  /** Where pipelines and OCR adapters send their steps. */
  readonly steps: StepDispatcher;
}

/** Host one model: load a raw model's session, or build an adapter or pipeline on what is hosted. */
export async function hostEntry(spec: ModelSpec, ctx: EntryContext): Promise<Entry> {
  if (spec.kind === 'onnx') {
    const { loadOrtModel } = await import('./ort-model.ts');
    const raw = await loadOrtModel(spec, ctx.logger, ctx.hooks, await ctx.modelHost());
    return { spec, hosted: hostRawModel(raw), raw, active: 0 };
  }
  // Pipeline and adapter code loads with the first such model: a node hosting none never pays for it.
  if (spec.kind === 'pipeline') {
    const { createPipelineModel } = await import('./pipeline/pipeline-model.ts');
    return { spec, hosted: createPipelineModel(spec, ctx.steps), active: 0 };
  }
  const targets = adapterTargets(spec).map((name) => {
    const target = ctx.rawModel(name);
    if (target === undefined) {
      throw new ModelNotFoundError(name, `adapter '${spec.name}' references model '${name}', which is not loaded as a raw ONNX model`);
    }
    return target;
  });
  const { adapter } = spec;
  const hosted = adapter.type === 'ocr'
    ? (await import('./adapters/ocr/ocr-adapter.ts')).createOcrAdapter({ ...spec, adapter }, targets, ctx.steps)
    : (await import('./adapters/silero-vad.ts')).createSileroVadAdapter({ ...spec, adapter }, targets[0] as OrtModel, ctx.hooks);
  return { spec, hosted, active: 0 };
}

/** The entry a request names: the model itself, else among those offering the capability the cheapest, then least loaded. */
export function findEntry(entries: readonly Entry[], nameOrCapability: string, version?: string): Entry | undefined {
  const matchesVersion = (e: Entry): boolean => version === undefined || version === '' || e.spec.version === version;
  const exact = entries.find((e) => e.spec.name === nameOrCapability && matchesVersion(e));
  if (exact !== undefined) return exact;
  const load = (e: Entry): number => {
    const s = e.hosted.stats();
    return s.inFlight + s.queued;
  };
  return entries
    .filter((e) => e.spec.capabilities.includes(nameOrCapability) && matchesVersion(e))
    .sort((a, b) => a.spec.price - b.spec.price || load(a) - load(b))[0];
}

/** Wait for the entry's in-flight queries, then release what it holds. */
export async function releaseEntry(entry: Entry): Promise<void> {
  if (entry.active > 0) await new Promise<void>((resolve) => { entry.onIdle = resolve; });
  await entry.hosted.close();
}
