// Where models run and what audio a node accepts (the `inference:` section of the config file).
import * as z from 'zod';
import { ConfigError } from '../errors.ts';
import { describeIssue } from './config-issues.ts';

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
  /**
   * Runs of one session handed to its worker ahead of the one it is running (models without
   * `batching` or an injected delay; taken from the model's `maxQueue`): the worker then goes
   * from run to run without waiting for the event loop. They count as in flight for routing and
   * admission; a run whose deadline passed while it waited in the worker is skipped. Unused with
   * `workers: 0`.
   */
  runAhead: z.int().min(0).max(1024).default(16),
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
