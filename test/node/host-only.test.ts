// `--only CAPABILITY[,...]`: which model entries a node hosts (src/node/host-only.ts), and its
// place in the node options (src/node/options.ts): the config file's models or the embedded
// default, cut before anything loads; bad or unknown names refused naming what exists.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { compileModelSpecs, defaultModelSpecs, type ModelSpec } from '../../src/inference/index.ts';
import { parseOnly, selectModelsFor, servedCapabilities } from '../../src/node/host-only.ts';
import { compileNodeOptions } from '../../src/node/options.ts';

const names = (specs: readonly ModelSpec[]): string[] => specs.map((s) => s.name);
function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

// Two OCR stacks and the VAD pair, written out (not the default) so the shape under test is fixed.
const CONFIG = compileModelSpecs([
  { name: 'vad', path: 'builtin:silero-vad', capabilities: ['speech.vad.raw'] },
  { name: 'vad-seg', adapter: { type: 'silero-vad', model: 'vad' }, capabilities: ['speech.vad'] },
  { name: 'det', path: 'builtin:ppocr-det' },
  { name: 'rec', path: 'builtin:ppocr-rec' },
  { name: 'detect', ocr: { task: 'detect', detector: 'det' }, capabilities: ['ocr.detect'] },
  { name: 'recognize', ocr: { task: 'recognize', recognizer: 'rec' }, capabilities: ['ocr.recognize'] },
  { name: 'read', ocr: { task: 'read', detector: 'det', recognizer: 'rec' }, capabilities: ['ocr.read', 'ocr.read.local'] },
], '/tmp');

describe('parseOnly', () => {
  it('splits on commas, trims, drops repeats, keeps the order', () => {
    expect(parseOnly(['ocr.read, speech.vad', 'ocr.read,ocr.detect,'])).toEqual(['ocr.read', 'speech.vad', 'ocr.detect']);
  });

  it('refuses an empty list', () => {
    expect(errorOf(() => parseOnly([' , ']))).toBe('--only: expected at least one capability, e.g. --only ocr.read');
  });
});

describe('selectModelsFor', () => {
  it('keeps the entry serving a capability and the raw models it runs on, in config order', () => {
    expect(names(selectModelsFor(CONFIG, ['ocr.detect']))).toEqual(['det', 'detect']);
    expect(names(selectModelsFor(CONFIG, ['ocr.recognize']))).toEqual(['rec', 'recognize']);
    expect(names(selectModelsFor(CONFIG, ['ocr.read']))).toEqual(['det', 'rec', 'read']);
    expect(names(selectModelsFor(CONFIG, ['speech.vad.raw']))).toEqual(['vad']);
    expect(names(selectModelsFor(CONFIG, ['ocr.recognize', 'speech.vad']))).toEqual(['vad', 'vad-seg', 'rec', 'recognize']);
  });

  it('keeps every entry that serves a capability, and an entry once for all its capabilities', () => {
    const twice = compileModelSpecs([
      { name: 'a', path: 'builtin:silero-vad', capabilities: ['speech.vad.raw'] },
      { name: 'b', path: 'builtin:silero-vad', capabilities: ['speech.vad.raw', 'speech.other'] },
    ], '/tmp');
    expect(names(selectModelsFor(twice, ['speech.vad.raw']))).toEqual(['a', 'b']);
    expect(names(selectModelsFor(twice, ['speech.other', 'speech.vad.raw']))).toEqual(['a', 'b']);
    expect(names(selectModelsFor(CONFIG, ['ocr.read', 'ocr.read.local']))).toEqual(['det', 'rec', 'read']);
  });

  it('keeps an entry of another kind (a pipeline) alone: its steps are routed, not hosted', () => {
    // The pipeline kind comes with pipelines (issue 12); any non-adapter kind runs on no local model.
    const pipeline = { name: 'ocr-pipe', version: '1', capabilities: ['ocr.pipe'], price: 0, fault: { delayMs: 0, errorRate: 0 }, kind: 'pipeline' } as unknown as ModelSpec;
    expect(names(selectModelsFor([...CONFIG, pipeline], ['ocr.pipe']))).toEqual(['ocr-pipe']);
  });

  it('refuses names nobody in the config serves, listing what it serves', () => {
    expect(servedCapabilities(CONFIG)).toEqual(['ocr.detect', 'ocr.read', 'ocr.read.local', 'ocr.recognize', 'speech.vad', 'speech.vad.raw']);
    expect(errorOf(() => selectModelsFor(CONFIG, ['ocr.read', 'ocr.translate'], 'plexus.yaml')))
      .toBe("--only: 'ocr.translate' is not served by plexus.yaml; it serves: ocr.detect, ocr.read, ocr.read.local, ocr.recognize, speech.vad, speech.vad.raw");
    expect(errorOf(() => selectModelsFor(CONFIG, ['a.b', 'c.d']))).toMatch(/^--only: 'a\.b', 'c\.d' are not served by the config; it serves: /);
    // A model name is no capability: refused the same way, with the list.
    expect(errorOf(() => selectModelsFor(CONFIG, parseOnly(['ocr.read,det'])))).toMatch(/^--only: 'det' is not served by the config; it serves: ocr\.detect, /);
    expect(errorOf(() => selectModelsFor([], ['a.b']))).toBe("--only: 'a.b' is not served by the config; it serves no capability");
  });
});

describe('compileNodeOptions with --only', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'plexus-only-'));
  const env = { cwd: dir, home: dir };
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  it('cuts the embedded default', () => {
    const o = compileNodeOptions({ only: ['ocr.detect,speech.vad.raw'] }, env);
    expect(names(o.models)).toEqual(['silero-vad', 'ppocr-det', 'ocr-detect']);
    expect(o.only).toEqual(['ocr.detect', 'speech.vad.raw']);
    expect(compileNodeOptions({}, env).only).toBeUndefined();
    expect(names(compileNodeOptions({}, env).models)).toEqual(names(defaultModelSpecs()));
    expect(errorOf(() => compileNodeOptions({ only: ['ocr.nope'] }, env))).toMatch(/^--only: 'ocr\.nope' is not served by the embedded default; it serves: ocr\.detect, ocr\.read, ocr\.recognize, speech\.vad, speech\.vad\.raw$/);
  });

  it('cuts a config file, naming the file in its refusal, and is no pure router', () => {
    const config = path.join(dir, 'plexus.json');
    writeFileSync(config, JSON.stringify({ models: [
      { name: 'vad', path: 'builtin:silero-vad', capabilities: ['speech.vad.raw'] },
      { name: 'vad-seg', adapter: { type: 'silero-vad', model: 'vad' }, capabilities: ['speech.vad'] },
    ] }));
    expect(names(compileNodeOptions({ config, only: ['speech.vad'] }, env).models)).toEqual(['vad', 'vad-seg']);
    expect(errorOf(() => compileNodeOptions({ config, only: ['ocr.read'] }, env))).toBe(`--only: 'ocr.read' is not served by ${config}; it serves: speech.vad, speech.vad.raw`);
    expect(errorOf(() => compileNodeOptions({ config, only: ['speech.vad'], noModels: true }, env))).toBe('--only: not with --no-models (a pure router hosts nothing)');
  });
});
