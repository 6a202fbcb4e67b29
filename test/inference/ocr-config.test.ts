// The `ocr:` model entry: builtins resolve to the shipped files, and each mistake is named.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileModelSpecs } from '../../src/inference/config.ts';
import { errorOf } from './config-error.ts';

const raw = [{ name: 'det', path: 'builtin:ppocr-det' }, { name: 'rec', path: 'builtin:ppocr-rec' }];

describe('OCR model config', () => {
  it('resolves the PP-OCRv4 builtins and compiles an OCR adapter with PaddleOCR defaults', () => {
    const specs = compileModelSpecs({ models: [...raw, { name: 'r', ocr: { task: 'read', detector: 'det', recognizer: 'rec' } }] }, process.cwd());
    for (const s of specs.slice(0, 2)) expect(s.kind === 'onnx' && existsSync(s.path)).toBe(true);
    expect(specs[2]).toMatchObject({
      kind: 'adapter',
      adapter: { type: 'ocr', task: 'read', model: 'det', recognizer: 'rec', maxSide: 960, threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5 },
    });
  });

  it('names what is wrong', () => {
    expect(errorOf([...raw, { name: 'r', ocr: { task: 'read', detector: 'det' } }])).toBe("models[2].ocr.recognizer: task 'read' needs a recognizer model");
    expect(errorOf([...raw, { name: 'r', ocr: { task: 'detect', detector: 'nope' } }])).toBe("models[2].ocr.detector: no model named 'nope' in models");
    expect(errorOf([...raw, { name: 'd', ocr: { task: 'detect', detector: 'det' } }, { name: 'r', ocr: { task: 'recognize', recognizer: 'd' } }]))
      .toBe("models[3].ocr.recognizer: 'd' is an adapter; expected a raw ONNX model");
    expect(errorOf([...raw, { name: 'r', path: 'builtin:ppocr-det', ocr: { task: 'detect', detector: 'det' } }])).toMatch(/^models\[2\]\.path: expected exactly one of/);
    expect(errorOf([...raw, { name: 'r', ocr: { task: 'detect', detector: 'det' }, batching: { maxBatchSize: 2, maxQueueDelayUs: 0 } }]))
      .toMatch(/^models\[2\]\.batching: not supported on an OCR adapter/);
    expect(errorOf([{ name: 'a', path: 'builtin:ppocr-cls' }])).toMatch(/unknown builtin model 'builtin:ppocr-cls': expected one of .*"builtin:ppocr-det", "builtin:ppocr-rec"/);
  });
});
