// A code adapter calling a capability through the node's router: A hosts the detector and the
// ocr.read adapter with `recognizeVia: ocr.recognize` (no recognizer of its own); R hosts
// ocr.recognize, priced 1. A reads the image, detects here and sends the lines to R as two
// chunks at once; the calls show in plexus.steps and count against plexus.max_cost like a
// pipeline's steps.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ocrModelEntries, ocrRoutedReadEntry } from '../../src/inference/adapters/ocr/ocr-config.ts';
import { HAS_CONVERT, squash, textImage } from '../inference/ocr-images.ts';
import { call, callError } from '../node/grpc/helpers.ts';
import { originsFor, paramNumber, paramString, removeTempDirs, startClusterNode, waitFor, type ClusterNode, type WireParams } from './helpers.ts';

const entry = (name: string): Record<string, unknown> => ocrModelEntries().find((m) => m.name === name) ?? {};
const WORDS = ['ALPHA', 'BRAVO', 'CHARLIE', 'DELTA', 'ECHO', 'FOXTROT', 'GOLF', 'HOTEL', 'INDIA', 'JULIET'];

interface Response { outputs: { name: string; shape: string[]; contents: { bytes_contents?: Buffer[] } | null }[]; parameters: WireParams }
interface Step { capability: string; served_by: string; route: string; cost: number }

describe.skipIf(!HAS_CONVERT)('the OCR read adapter with recognition routed to another node', () => {
  let a: ClusterNode, r: ClusterNode;
  let png: Buffer;
  beforeAll(async () => {
    png = textImage(WORDS);
    a = await startClusterNode({ models: [entry('ppocr-det'), ocrRoutedReadEntry()] });
    r = await startClusterNode({ models: [entry('ppocr-rec'), { ...entry('ocr-recognize'), price: 1 }], bootstrap: a.addrs });
    await waitFor('A knows ocr.recognize at R', () => originsFor(a, 'ocr.recognize').has(r.peerId), 15_000);
  }, 40_000);
  afterAll(async () => {
    await Promise.all([a, r].map(async (n) => { await n.close(); }));
    removeTempDirs();
  });

  const read = (params: Record<string, number> = {}): Record<string, unknown> => ({
    model_name: 'ocr.read', inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [png] } }],
    parameters: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { double_param: v }])),
  });

  it('detects on A, reads the 10 lines on R in two chunks, in reading order; plexus.steps and plexus.cost say so', async () => {
    const res = await call<Response>(a.inference, 'ModelInfer', read({ 'plexus.max_cost': 2 }), 30_000);
    const text = (res.outputs.find((o) => o.name === 'text')?.contents?.bytes_contents ?? []).map((b) => squash(b.toString('utf8')));
    // The small model misreads a letter now and then (CHARLIE -> CHARLTE): the order is what counts here.
    expect(text.map((w) => w.slice(0, 3))).toEqual(WORDS.map((w) => w.slice(0, 3)));
    expect(text.filter((w, i) => w === WORDS[i]).length).toBeGreaterThanOrEqual(8);
    expect(res.outputs.find((o) => o.name === 'boxes')?.shape).toEqual(['10', '4', '2']);
    expect(paramString(res.parameters, 'plexus.served_by')).toBe(a.peerId);
    const steps = JSON.parse(paramString(res.parameters, 'plexus.steps') ?? '[]') as Step[];
    expect(steps.map((s) => [s.capability, s.served_by, s.route, s.cost])).toEqual([
      ['ocr.recognize', r.peerId, `${a.peerId},${r.peerId}`, 1],
      ['ocr.recognize', r.peerId, `${a.peerId},${r.peerId}`, 1],
    ]);
    expect(paramNumber(res.parameters, 'plexus.cost')).toBe(2);
  }, 40_000);

  it('plexus.max_cost bounds the routed calls: 1.5 (0.75 per chunk) fails FAILED_PRECONDITION naming the step', async () => {
    const err = await callError(a.inference, 'ModelInfer', read({ 'plexus.max_cost': 1.5 }), 30_000);
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/adapter 'ocr-read' step 'recognize' \(ocr\.recognize\): .*over plexus\.max_cost 0\.75/);
  }, 40_000);
});
