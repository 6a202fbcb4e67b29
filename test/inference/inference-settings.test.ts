// The `inference:` section of the config file: defaults defined once, errors naming the field,
// and the node options carrying it to the engine.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { compileInferenceSettings, DEFAULT_INFERENCE_SETTINGS } from '../../src/inference/index.ts';
import { compileNodeOptions } from '../../src/node/options.ts';

describe('inference settings', () => {
  it('has documented defaults, and partial sections keep the rest', () => {
    expect(DEFAULT_INFERENCE_SETTINGS).toEqual({ workers: 1, runAhead: 16, audio: { maxDurationS: 1800, maxSampleRate: 384_000, maxChannels: 32 } });
    expect(compileInferenceSettings({ audio: { maxChannels: 2 } })).toEqual({ workers: 1, runAhead: 16, audio: { maxDurationS: 1800, maxSampleRate: 384_000, maxChannels: 2 } });
    expect(compileInferenceSettings({ workers: 0 }).workers).toBe(0);
  });
  it('names the bad field', () => {
    const bad = (raw: unknown): string => {
      try { compileInferenceSettings(raw); } catch (e) { expect(e).toBeInstanceOf(ConfigError); return (e as Error).message; }
      throw new Error('expected ConfigError');
    };
    expect(bad({ workers: -1 })).toBe('inference.workers: expected >= 0');
    expect(bad({ runAhead: 2000 })).toBe('inference.runAhead: expected <= 1024');
    expect(bad({ audio: { maxSampleRate: 1.5 } })).toMatch(/^inference\.audio\.maxSampleRate: /);
    expect(bad({ threads: 2 })).toBe('inference: unknown field "threads"');
  });
  it('reaches the node options from the config file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'plexus-inference-settings-'));
    const config = path.join(dir, 'plexus.json');
    writeFileSync(config, JSON.stringify({ inference: { workers: 0, audio: { maxDurationS: 60 } } }));
    expect(compileNodeOptions({ config }, { cwd: dir, home: dir }).inference).toEqual({ workers: 0, runAhead: 16, audio: { maxDurationS: 60, maxSampleRate: 384_000, maxChannels: 32 } });
    expect(compileNodeOptions({}, { cwd: dir, home: dir }).inference).toEqual(DEFAULT_INFERENCE_SETTINGS);
  });
});
