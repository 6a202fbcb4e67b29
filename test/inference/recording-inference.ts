// A LocalInference that records every batch it runs (model, size), for the batching tests.
import { compileModelSpecs, createLocalInference, type LocalInference } from '../../src/inference/index.ts';
import { silentLogger } from '../../src/logger.ts';

export interface RecordingInference {
  readonly inf: LocalInference;
  /** Sizes of the batches `model` ran so far, in order. */
  readonly sizesOf: (model: string) => number[];
}

/** `models`: the config's `models:` entries, paths relative to `dir`. */
export async function recordingInference(models: readonly Record<string, unknown>[], dir: string): Promise<RecordingInference> {
  const batches: { model: string; size: number }[] = [];
  const inf = await createLocalInference({
    logger: silentLogger(),
    onBatch: (model, size) => batches.push({ model, size }),
    models: compileModelSpecs({ models }, dir),
  });
  return { inf, sizesOf: (model) => batches.filter((b) => b.model === model).map((b) => b.size) };
}
