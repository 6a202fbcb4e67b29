// `ocr: {task: read, recognizeVia}`: the read adapter with its recognition routed; each mistake is named.
import { describe, expect, it } from 'vitest';
import { ocrRoutedReadEntry } from '../../src/inference/adapters/ocr/ocr-config.ts';
import { adapterTargets, compileModelSpecs } from '../../src/inference/config.ts';
import { errorOf } from './config-error.ts';

const det = { name: 'ppocr-det', path: 'builtin:ppocr-det' };

describe('OCR read adapter with routed recognition (config)', () => {
  it('compiles with only the detector as a local model', () => {
    const [, spec] = compileModelSpecs({ models: [det, ocrRoutedReadEntry()] }, process.cwd());
    expect(spec).toMatchObject({ kind: 'adapter', adapter: { type: 'ocr', task: 'read', model: 'ppocr-det', recognizeVia: 'ocr.recognize' } });
    expect(spec?.kind === 'adapter' ? adapterTargets(spec) : []).toEqual(['ppocr-det']);
  });

  it('names what is wrong', () => {
    const read = (ocr: Record<string, unknown>, over: Record<string, unknown> = {}): unknown[] => [det, { name: 'r', capabilities: ['ocr.read'], ocr: { task: 'read', detector: 'ppocr-det', ...ocr }, ...over }];
    expect(errorOf(read({ recognizeVia: 'ocr.recognize', recognizer: 'ppocr-det' })))
      .toBe('models[1].ocr.recognizeVia: expected either a local "recognizer" model or "recognizeVia" (a capability), not both');
    expect(errorOf([det, { name: 'd', ocr: { task: 'detect', detector: 'ppocr-det', recognizeVia: 'ocr.recognize' } }]))
      .toBe("models[1].ocr.recognizeVia: only task 'read' routes its recognition");
    expect(errorOf(read({ recognizeVia: 'recognize' }))).toMatch(/^models\[1\]\.ocr\.recognizeVia: expected a dotted capability name/);
    expect(errorOf(read({ recognizeVia: 'ocr.read' }))).toBe("models[1].ocr.recognizeVia: 'ocr.read' is this entry itself: its recognition would call itself");
  });
});
