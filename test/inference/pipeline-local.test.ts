// The ocr.read pipeline of ocrModelEntries() on an engine of its own (no router: the steps run
// on the engine's own models): a fan-out over more lines than one chunk comes back joined in
// reading order, plexus.steps lists every call, and the shared deadline covers all steps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadlineExceededError } from '../../src/errors.ts';
import { compileModelSpecs, createLocalInference, ocrModelEntries, type LocalInference, type Tensor } from '../../src/inference/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { HAS_CONVERT, squash, textImage } from './ocr-images.ts';

const image = (bytes: Uint8Array): Tensor => ({ name: 'image', datatype: 'BYTES', shape: [1], data: [bytes] });
const WORDS = ['ALPHA', 'BRAVO', 'CHARLIE', 'DELTA', 'ECHO', 'FOXTROT', 'GOLF', 'HOTEL', 'INDIA', 'JULIET'];

describe.skipIf(!HAS_CONVERT)('the ocr.read pipeline on one engine', () => {
  let inf: LocalInference;
  beforeAll(async () => {
    // ocr-detect slowed by 300 ms (fault injection) for the deadline case.
    const models = ocrModelEntries().map((m) => (m.name === 'ocr-detect' ? { ...m, fault: { delayMs: 300 } } : m));
    inf = await createLocalInference({ logger: silentLogger(), models: compileModelSpecs({ models }, process.cwd()) });
  }, 30_000);
  afterAll(async () => { await inf.close(); });

  it('reads 10 lines as two recognize calls joined in reading order', async () => {
    const res = await inf.infer({ model: 'ocr.read', id: 'q', outputs: [], parameters: {}, inputs: [image(textImage(WORDS))] });
    expect(res.model).toBe('ocr-read');
    const text = res.outputs.find((t) => t.name === 'text');
    // The small model misreads a letter now and then (CHARLIE -> CHARLTE): the order is what counts here.
    const read = (text?.data as Uint8Array[]).map((b) => squash(new TextDecoder().decode(b)));
    expect(read.map((w) => w.slice(0, 3))).toEqual(WORDS.map((w) => w.slice(0, 3)));
    expect(read.filter((w, i) => w === WORDS[i]).length).toBeGreaterThanOrEqual(8);
    const boxes = res.outputs.find((t) => t.name === 'boxes');
    expect(boxes?.shape).toEqual([10, 4, 2]);
    const tops = Array.from({ length: 10 }, (_, i) => (boxes?.data as Float32Array)[i * 8 + 1] ?? NaN);
    expect(tops).toEqual([...tops].sort((a, b) => a - b));
    const steps = JSON.parse(String(res.parameters['plexus.steps'])) as { capability: string; cost: number }[];
    expect(steps.map((s) => s.capability)).toEqual(['ocr.detect', 'ocr.recognize', 'ocr.recognize']);
    expect(res.parameters['plexus.cost']).toBe(0);
  }, 30_000);

  it('fails DEADLINE_EXCEEDED when the steps cannot finish by the shared deadline', async () => {
    const q = inf.infer({ model: 'ocr.read', id: 'd', outputs: [], parameters: {}, inputs: [image(textImage(['LATE']))], deadline: Date.now() + 200 });
    await expect(q).rejects.toThrow(DeadlineExceededError);
  }, 10_000);
});
