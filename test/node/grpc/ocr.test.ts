// The OCR capabilities over real gRPC (KServe v2 ModelInfer) on a real daemon: a rendered image
// in, its words out; detect + recognize of a subset; bad images get INVALID_ARGUMENT or
// RESOURCE_EXHAUSTED with a message naming the problem, and the node keeps serving.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CONVERT, OCR_MODELS, pngWithHeader, squash, textImage } from '../../inference/ocr-images.ts';
import { call, callError, startTestNode, type TestNode } from './helpers.ts';

interface Output { name: string; datatype: string; shape: string[]; contents: Record<string, unknown[]> | null }
interface Response { model_name: string; outputs: Output[] }

const imageRequest = (model: string, png: Uint8Array, extra: unknown[] = []): Record<string, unknown> => ({
  model_name: model,
  inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [png] } }, ...extra],
});
const texts = (res: Response): string[] =>
  ((res.outputs.find((o) => o.name === 'text')?.contents?.bytes_contents ?? []) as Buffer[]).map((b) => squash(b.toString('utf8')));

describe.skipIf(!HAS_CONVERT)('OCR over gRPC', () => {
  let t: TestNode;
  let png: Buffer;
  beforeAll(async () => {
    t = await startTestNode({ models: OCR_MODELS, maxMessageBytes: 1024 * 1024 });
    png = textImage(['HELLO WORLD', 'PLEXUS 2026']);
  });
  afterAll(async () => { await t.close(); });

  it('ocr.read answers the words, one line each, with [N,4,2] boxes', async () => {
    const res = await call<Response>(t.inference, 'ModelInfer', imageRequest('ocr.read', png));
    expect(res.model_name).toBe('ocr-read');
    expect(texts(res)).toEqual(['HELLOWORLD', 'PLEXUS2026']);
    expect(res.outputs.find((o) => o.name === 'boxes')).toMatchObject({ datatype: 'FP32', shape: ['2', '4', '2'] });
    expect(res.outputs.find((o) => o.name === 'scores')).toMatchObject({ datatype: 'FP32', shape: ['2'] });
  });

  it('ocr.recognize reads the boxes it is given, from ocr.detect', async () => {
    const det = await call<Response>(t.inference, 'ModelInfer', imageRequest('ocr.detect', png));
    const boxes = det.outputs.find((o) => o.name === 'boxes')?.contents?.fp32_contents as number[];
    expect(boxes).toHaveLength(16);
    const first = { name: 'boxes', datatype: 'FP32', shape: [1, 4, 2], contents: { fp32_contents: boxes.slice(0, 8) } };
    const rec = await call<Response>(t.inference, 'ModelInfer', imageRequest('ocr.recognize', png, [first]));
    expect(texts(rec)).toEqual(['HELLOWORLD']);
  });

  it('refuses bad images with the right status and keeps serving', async () => {
    const notImage = await callError(t.inference, 'ModelInfer', imageRequest('ocr.read', Buffer.from('plain text, not a PNG')));
    expect(notImage.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(notImage.details).toMatch(/input 'image': not a readable image/);
    const truncated = await callError(t.inference, 'ModelInfer', imageRequest('ocr.read', png.subarray(0, png.length >> 1)));
    expect(truncated.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(truncated.details).toMatch(/cannot decode the png image/);
    const empty = await callError(t.inference, 'ModelInfer', imageRequest('ocr.read', pngWithHeader(0, 0)));
    expect(empty.code).toBe(grpc.status.INVALID_ARGUMENT);
    const huge = await callError(t.inference, 'ModelInfer', imageRequest('ocr.read', pngWithHeader(30000, 30000)));
    expect(huge.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(huge.details).toMatch(/30000x30000/);
    const overLimit = await callError(t.inference, 'ModelInfer', imageRequest('ocr.read', Buffer.alloc(2 * 1024 * 1024)));
    expect(overLimit.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const wrongType = await callError(t.inference, 'ModelInfer', {
      model_name: 'ocr.read', inputs: [{ name: 'image', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }],
    });
    expect(wrongType.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(texts(await call<Response>(t.inference, 'ModelInfer', imageRequest('ocr.read', png)))).toEqual(['HELLOWORLD', 'PLEXUS2026']);
  });
});
