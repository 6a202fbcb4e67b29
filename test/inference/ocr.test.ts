// The OCR capabilities on the real PP-OCRv4 models, through createLocalInference, on images
// ImageMagick renders here: the words are read, boxes come in reading order, recognize reads
// any subset of boxes, and bad images are refused with a message that names the problem.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, MessageTooLargeError } from '../../src/errors.ts';
import { compileModelSpecs, createLocalInference } from '../../src/inference/index.ts';
import type { LocalInference, Tensor } from '../../src/inference/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { HAS_CONVERT, OCR_MODELS, pngWithHeader, render, squash, textImage } from './ocr-images.ts';


const image = (bytes: Uint8Array): Tensor => ({ name: 'image', datatype: 'BYTES', shape: [1], data: [bytes] });
const decode = (t: Tensor | undefined): string[] => (t?.data as Uint8Array[]).map((b) => new TextDecoder().decode(b));
const out = (outputs: readonly Tensor[], name: string): Tensor | undefined => outputs.find((t) => t.name === name);

describe.skipIf(!HAS_CONVERT)('OCR on rendered images', () => {
  let inf: LocalInference;
  let twoLines: Buffer;
  beforeAll(async () => {
    inf = await createLocalInference({ logger: silentLogger(), models: compileModelSpecs({ models: OCR_MODELS }, process.cwd()) });
    twoLines = textImage(['HELLO WORLD', 'PLEXUS 2026']);
  });
  afterAll(async () => { await inf.close(); });

  const infer = async (model: string, inputs: Tensor[]): Promise<readonly Tensor[]> =>
    (await inf.infer({ model, id: 't', inputs, outputs: [], parameters: {} })).outputs;

  it('ocr.read reads both lines, top to bottom, with boxes around them', async () => {
    const outputs = await infer('ocr.read', [image(twoLines)]);
    expect(decode(out(outputs, 'text')).map(squash)).toEqual(['HELLOWORLD', 'PLEXUS2026']);
    const boxes = out(outputs, 'boxes');
    expect(boxes?.shape).toEqual([2, 4, 2]);
    const b = boxes?.data as Float32Array;
    // Line 1 is drawn with its baseline at y=60, line 2 at y=120, both from x=20.
    expect(b[1]).toBeLessThan(60);
    expect(b[5]).toBeGreaterThan(40);
    expect(b[9]).toBeGreaterThan(60);
    expect(b[13]).toBeGreaterThan(100);
    for (const x of [b[0], b[8]]) expect(Math.abs((x ?? NaN) - 20)).toBeLessThan(10);
    expect(Array.from(out(outputs, 'scores')?.data as Float32Array).every((s) => s > 0.8)).toBe(true);
  });

  it('orders boxes left to right on one line and top to bottom, and reads a JPEG', async () => {
    const img = render(['-size', '640x200', 'xc:white', '-font', 'DejaVu-Sans', '-pointsize', '32', '-fill', 'black',
      '-annotate', '+360+60', 'RIGHT', '-annotate', '+20+60', 'LEFT', '-annotate', '+20+150', 'BOTTOM'], 'jpg');
    const outputs = await infer('ocr.read', [image(img)]);
    expect(decode(out(outputs, 'text')).map(squash)).toEqual(['LEFT', 'RIGHT', 'BOTTOM']);
  });

  it('reads a line rotated by a few degrees', async () => {
    const img = render(['-size', '600x200', 'xc:white', '-font', 'DejaVu-Sans', '-pointsize', '36', '-fill', 'black',
      '-annotate', '4x4+40+90', 'ROTATED TEXT']);
    expect(decode(out(await infer('ocr.read', [image(img)]), 'text')).map(squash)).toEqual(['ROTATEDTEXT']);
  });

  it('turns a vertical line (rotated 90 degrees) upright before reading it', async () => {
    const img = render(['-size', '300x400', 'xc:white', '-font', 'DejaVu-Sans', '-pointsize', '40', '-fill', 'black',
      '-annotate', '90x90+150+50', 'VERTICAL']);
    const outputs = await infer('ocr.read', [image(img)]);
    expect(decode(out(outputs, 'text')).map(squash)).toEqual(['VERTICAL']);
    const b = out(outputs, 'boxes')?.data as Float32Array;
    expect((b[5] ?? 0) - (b[1] ?? 0)).toBeGreaterThan(3 * ((b[2] ?? 0) - (b[0] ?? 0))); // taller than wide
  });

  it('ocr.detect then ocr.recognize on a subset of the boxes reads just those lines', async () => {
    const det = await infer('ocr.detect', [image(twoLines)]);
    const boxes = out(det, 'boxes');
    expect(boxes?.shape).toEqual([2, 4, 2]);
    expect(out(det, 'scores')?.shape).toEqual([2]);
    const second: Tensor = { name: 'boxes', datatype: 'FP32', shape: [1, 4, 2], data: (boxes?.data as Float32Array).slice(8, 16) };
    const rec = await infer('ocr.recognize', [image(twoLines), second]);
    expect(decode(out(rec, 'text')).map(squash)).toEqual(['PLEXUS2026']);
    expect(out(rec, 'scores')?.shape).toEqual([1]);
    const none = await infer('ocr.recognize', [image(twoLines), { name: 'boxes', datatype: 'FP32', shape: [0, 4, 2], data: new Float32Array(0) }]);
    expect(out(none, 'text')?.shape).toEqual([0]);
  });

  it('finds nothing on a blank page', async () => {
    const outputs = await infer('ocr.read', [image(render(['-size', '300x100', 'xc:white']))]);
    expect(out(outputs, 'text')?.shape).toEqual([0]);
    expect(out(outputs, 'boxes')?.shape).toEqual([0, 4, 2]);
  });

  it('refuses bad images, naming what is wrong, and keeps serving', async () => {
    const bad = (bytes: Uint8Array): Promise<unknown> => infer('ocr.read', [image(bytes)]);
    await expect(bad(new TextEncoder().encode('not an image at all'))).rejects.toThrow(InvalidInputError);
    await expect(bad(new TextEncoder().encode('not an image at all'))).rejects.toThrow(/input 'image': not a readable image/);
    await expect(bad(twoLines.subarray(0, Math.floor(twoLines.length / 2)))).rejects.toThrow(/input 'image': cannot decode the png image/);
    await expect(bad(pngWithHeader(0, 0))).rejects.toThrow(InvalidInputError);
    await expect(bad(new Uint8Array(0))).rejects.toThrow(/input 'image': empty/);
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text y="8">HI</text></svg>';
    await expect(bad(new TextEncoder().encode(svg))).rejects.toThrow(/unsupported image format 'svg'/);
    const huge = bad(pngWithHeader(30000, 30000));
    await expect(huge).rejects.toThrow(MessageTooLargeError);
    await expect(bad(pngWithHeader(30000, 30000))).rejects.toThrow(/30000x30000 \(900000000 pixels\); the limit is 4000000 pixels/);
    await expect(infer('ocr.read', [{ name: 'image', datatype: 'FP32', shape: [1], data: new Float32Array(1) }])).rejects.toThrow(/input 'image'.*BYTES/);
    await expect(infer('ocr.recognize', [image(twoLines), { name: 'boxes', datatype: 'FP32', shape: [2, 4], data: new Float32Array(8) }]))
      .rejects.toThrow(/input 'boxes': expected shape \[-1,4,2\]/);
    await expect(infer('ocr.recognize', [image(twoLines), { name: 'boxes', datatype: 'FP32', shape: [1, 4, 2], data: new Float32Array(8).fill(NaN) }]))
      .rejects.toThrow(/box 0 has a non-finite coordinate/);
    await expect(infer('ocr.recognize', [image(twoLines), { name: 'boxes', datatype: 'FP32', shape: [1001, 4, 2], data: new Float32Array(8008) }]))
      .rejects.toThrow(MessageTooLargeError);
    expect(decode(out(await infer('ocr.read', [image(twoLines)]), 'text')).map(squash)).toEqual(['HELLOWORLD', 'PLEXUS2026']);
  });
});

describe('OCR adapters and their raw models', () => {
  it('a raw model the OCR adapters run on is not unloaded from under them', async () => {
    const inf = await createLocalInference({ logger: silentLogger(), models: compileModelSpecs({ models: OCR_MODELS }, process.cwd()) });
    try {
      await expect(inf.unload('ppocr-rec')).rejects.toThrow(/adapter\(s\) 'ocr-recognize', 'ocr-read' run on it/);
      await inf.unload('ppocr-rec', { dependents: true });
      expect(inf.list().map((m) => m.name)).toEqual(['ppocr-det', 'ocr-detect']);
    } finally {
      await inf.close();
    }
  });
});
