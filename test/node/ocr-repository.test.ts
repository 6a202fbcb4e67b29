// The model repository knows that ocr.read runs on two raw models: reloading the recognizer
// (a changed config entry) takes ocr-read down with it and brings it back, serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModelSpecs, createLocalInference, type LocalInference } from '../../src/inference/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { createModelRepository, type ModelRepository } from '../../src/node/model-repository.ts';
import { HAS_CONVERT, OCR_MODELS, squash, textImage } from '../inference/ocr-images.ts';

describe.skipIf(!HAS_CONVERT)('OCR adapters in the model repository', () => {
  let inf: LocalInference;
  let repo: ModelRepository;
  beforeAll(async () => {
    const models = compileModelSpecs({ models: OCR_MODELS }, process.cwd());
    inf = await createLocalInference({ logger: silentLogger(), models });
    repo = createModelRepository({ inference: inf, models, baseDir: process.cwd(), logger: silentLogger() });
  });
  afterAll(async () => { await inf.close(); });

  it('a changed recognizer reloads ocr-read and ocr-recognize with it', async () => {
    const changed = OCR_MODELS.map((m) => (m.name === 'ppocr-rec' ? { ...m, price: 1 } : m));
    await repo.applyConfigModels(compileModelSpecs({ models: changed }, process.cwd()));
    expect(inf.list().map((m) => m.name).sort()).toEqual(['ocr-detect', 'ocr-read', 'ocr-recognize', 'ppocr-det', 'ppocr-rec']);
    const png = textImage(['PLEXUS 2026']);
    const res = await inf.infer({ model: 'ocr.read', id: 'r', outputs: ['text'], parameters: {}, inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [png] }] });
    expect((res.outputs[0]?.data as Uint8Array[]).map((b) => squash(new TextDecoder().decode(b)))).toEqual(['PLEXUS2026']);
  });

  it('removing the recognizer and what runs on it leaves ocr-detect serving', async () => {
    const detectOnly = OCR_MODELS.filter((m) => !['ppocr-rec', 'ocr-recognize', 'ocr-read'].includes(String(m.name)));
    await repo.applyConfigModels(compileModelSpecs({ models: detectOnly }, process.cwd()));
    expect(inf.list().map((m) => m.name).sort()).toEqual(['ocr-detect', 'ppocr-det']);
  });
});
