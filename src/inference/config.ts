// Model configuration: the user-facing schema (zod, strict) and its compiled internal form.
// compileModelSpecs resolves paths and cross-checks names, so a bad config fails before any
// session is created, with a message that names the offending field.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { BUILTIN_OCR_MODELS, builtinOcrPath, compileOcrAdapter, ocrModelEntries } from './adapters/ocr/ocr-config.ts';
import { compilePipeline } from './pipeline/pipeline-config.ts';
import { describeIssue, formatPath } from './config-issues.ts';
import { BUILTIN_SILERO_VAD, builtinSileroVadPath, configSchema, DEFAULT_PIPELINE_CONCURRENCY, type ModelSpec, type ModelSpecCommon } from './model-spec.ts';

// The schema and compiled types of a model entry (model-spec.ts) and the `inference:` section
// (settings.ts), for the callers that import them from here.
export {
  adapterTargets, BUILTIN_SILERO_VAD, builtinSileroVadPath, DEFAULT_PIPELINE_CONCURRENCY, modelSpecSchema,
  type AdapterModelSpec, type BatchingSpec, type FaultSpec, type ModelSpec, type OnnxModelSpec, type PipelineModelSpec,
  type SessionSpec, type SileroAdapterSpec,
} from './model-spec.ts';
export {
  AUDIO_LIMIT_KEYS, compileInferenceSettings, DEFAULT_INFERENCE_SETTINGS, inferenceSettingsSchema,
  type AudioLimits, type InferenceSettings,
} from './settings.ts';

function resolveModelPath(p: string, baseDir: string): string {
  if (p === BUILTIN_SILERO_VAD) return builtinSileroVadPath();
  const ocr = builtinOcrPath(p);
  if (ocr !== undefined) return ocr;
  if (p.startsWith('builtin:')) throw new ConfigError(`unknown builtin model '${p}': expected one of ${[BUILTIN_SILERO_VAD, ...BUILTIN_OCR_MODELS].map((b) => `"${b}"`).join(', ')}`);
  const resolved = path.resolve(baseDir, p);
  if (!existsSync(resolved)) throw new ConfigError(`model file '${resolved}' does not exist`);
  return resolved;
}

/**
 * Validate and compile model entries. `raw` is either the `models` array or an object holding
 * one under `models` (other top-level sections belong to other parts of the config and are
 * left alone). Relative paths resolve against `baseDir`. `loaded`: models already running
 * outside this list that an adapter may name (a model loaded at run time).
 */
export function compileModelSpecs(raw: unknown, baseDir: string, loaded: readonly ModelSpec[] = []): ModelSpec[] {
  let list: unknown = raw;
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    list = (raw as { models?: unknown }).models ?? [];
  }
  const parsed = configSchema.safeParse(list);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue === undefined) throw new ConfigError('models: invalid');
    throw new ConfigError(`${formatPath(issue.path)}: ${describeIssue(issue)}`);
  }
  const entries = parsed.data;
  const seen = new Map<string, number>();
  entries.forEach((m, i) => {
    const prev = seen.get(m.name);
    if (prev !== undefined) throw new ConfigError(`models[${i}].name: duplicate model name '${m.name}' (also models[${prev}])`);
    seen.set(m.name, i);
  });
  return entries.map((m, i): ModelSpec => {
    const common: ModelSpecCommon = {
      name: m.name, version: m.version, capabilities: m.capabilities, price: m.price, fault: m.fault,
    };
    const checkTarget = (name: string, field: string): void => {
      const target = entries.find((e) => e.name === name) ?? loaded.find((e) => e.name === name);
      if (target === undefined) throw new ConfigError(`models[${i}].${field}: no model named '${name}' in models${loaded.length > 0 ? ' or loaded' : ''}`);
      if (('adapter' in target && target.adapter !== undefined) || ('ocr' in target && target.ocr !== undefined) || ('pipeline' in target && target.pipeline !== undefined)) {
        throw new ConfigError(`models[${i}].${field}: '${name}' is an adapter${'pipeline' in target && target.pipeline !== undefined ? ' (a pipeline)' : ''}; expected a raw ONNX model`);
      }
    };
    if (m.pipeline !== undefined) {
      const pipeline = compilePipeline(m.pipeline, `models[${i}]`, [m.name, ...m.capabilities]);
      return { ...common, kind: 'pipeline', pipeline, maxConcurrent: m.maxConcurrent ?? DEFAULT_PIPELINE_CONCURRENCY };
    }
    if (m.ocr !== undefined) {
      if (m.ocr.detector !== undefined) checkTarget(m.ocr.detector, 'ocr.detector');
      if (m.ocr.recognizer !== undefined) checkTarget(m.ocr.recognizer, 'ocr.recognizer');
      return { ...common, kind: 'adapter', adapter: compileOcrAdapter(m.ocr), ...(m.batching !== undefined ? { batching: m.batching } : {}) };
    }
    if (m.adapter !== undefined) {
      checkTarget(m.adapter.model, 'adapter.model');
      return { ...common, kind: 'adapter', adapter: m.adapter, ...(m.batching !== undefined ? { batching: m.batching } : {}) };
    }
    let resolved: string;
    try {
      resolved = resolveModelPath(m.path ?? '', baseDir);
    } catch (e) {
      throw new ConfigError(`models[${i}].path: ${(e as Error).message}`);
    }
    const maxQueue = m.maxQueue ?? 64;
    if (m.batching !== undefined && m.batching.maxBatchSize > maxQueue) {
      throw new ConfigError(`models[${i}].batching.maxBatchSize: expected <= maxQueue (${maxQueue}): a batch gathers its requests in the queue`);
    }
    return {
      ...common, kind: 'onnx', path: resolved, provider: m.provider ?? 'cpu',
      session: m.session ?? { graphOptimization: 'all' },
      maxConcurrent: m.maxConcurrent ?? 1, maxQueue,
      ...(m.batching !== undefined ? { batching: m.batching } : {}),
    };
  });
}

/**
 * Dynamic batching of raw Silero VAD v5 queries (one window each, or a few streams): its state
 * and stateN are [2, N, 128], so the requests stack along axis 1 there, and the scalar sample
 * rate is shared (requests at 8 and 16 kHz batch apart). `npm run bench -- --only batching`: one
 * ORT call on 16-64 windows costs 0.07-0.08 ms a window against 0.19 ms for one alone, and the
 * engine at c=64 answered 2.7x the requests/s; daemons at c=64, a local node ~15% and a router
 * ~27% more (medians of 12 rounds in 4 runs, each within its round; docs/PERFORMANCE.md, session 16). No wait for company: at c=1 a request runs at once, and under
 * load the queue fills while a batch runs.
 */
export const SILERO_VAD_BATCHING = { maxBatchSize: 64, maxQueueDelayUs: 0, axes: { state: 1, stateN: 1, sr: 'shared' } } as const;

/**
 * The embedded default's speech entries: raw Silero VAD v5 (batched: SILERO_VAD_BATCHING) plus its
 * segmenting adapter, with step batching on: `npm run bench -- --only batching` measured about 2x
 * the requests/s at c=8 and 3-4.6x at c=64, and the same at c=1. No wait for company: requests
 * join at the next step anyway, and a wait only made a lone request slower (about +1.5 ms at 500 µs).
 */
export function vadModelEntries(): Record<string, unknown>[] {
  return [
    {
      name: 'silero-vad', path: BUILTIN_SILERO_VAD, capabilities: ['speech.vad.raw'], session: { intraOpThreads: 1, interOpThreads: 1, graphOptimization: 'all' },
      batching: SILERO_VAD_BATCHING,
    },
    {
      name: 'silero-vad-segments', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'],
      batching: { maxBatchSize: 64, maxQueueDelayUs: 0 },
    },
  ];
}

/** The `models:` entries of the embedded default: speech.vad, then ocr.detect, ocr.recognize and ocr.read. */
export function defaultModelEntries(): Record<string, unknown>[] {
  return [...vadModelEntries(), ...ocrModelEntries()];
}

/** The embedded default (a node started without a config file's `models:`), compiled. */
export function defaultModelSpecs(): ModelSpec[] {
  return compileModelSpecs({ models: defaultModelEntries() }, process.cwd());
}
