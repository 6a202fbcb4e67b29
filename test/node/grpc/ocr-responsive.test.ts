// The event loop stays free while OCR works (issue 10): a daemon in its own process reads a
// 4000x4000 page of ~300 words (ocr.read: decode, resize, DB post-processing, a perspective crop
// per line, CTC decoding) while a probe asks grpc.health.v1 Check every 50 ms. Every probe must
// answer within PROBE_BOUND_MS: a responsiveness bound, not a speed target (with that work on the
// main thread the worst probe waited over a second; off it, about a tenth of that).
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CONVERT, render, squash, textImage } from '../../inference/ocr-images.ts';
import { removeTempDirs, startDaemonProcess, tempDir, type DaemonProcess } from '../../cluster/helpers.ts';
import { call, connectAll } from './helpers.ts';

// Not a speed target: measured on a 2-core box at load ~18, the worst probe waited 1,081 ms
// (detect) and 357 ms (recognize) with this work on the main thread, 130 and 106 ms off it.
const PROBE_BOUND_MS = 600;
const RECOGNIZED = 6;
const LINES = 38;

interface Output { name: string; contents: { bytes_contents?: Buffer[]; fp32_contents?: number[] } | null }

/** A 4000x4000 page: LINES lines of 8 well-spaced words each. */
function bigPage(): Buffer {
  const args = ['-size', '4000x4000', 'xc:white', '-font', 'DejaVu-Sans', '-pointsize', '56', '-fill', 'black'];
  for (let i = 0; i < LINES; i++) {
    args.push('-annotate', `+40+${100 + 100 * i}`, `LINE${i} ALPHA   BRAVO${i}   CHARLIE   DELTA${i}   ECHO   FOXTROT${i}   GOLF   HOTEL${i}`);
  }
  return render(args);
}

const imageInput = (png: Uint8Array): Record<string, unknown> => ({ name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [png] } });

/** ocr.detect at a 2048 px detection side (16x the pixels of the default 960) and ocr.recognize. */
const MODELS = [
  { name: 'ppocr-det', path: 'builtin:ppocr-det' },
  { name: 'ppocr-rec', path: 'builtin:ppocr-rec' },
  { name: 'ocr-detect', ocr: { task: 'detect', detector: 'ppocr-det', maxSide: 2048 }, capabilities: ['ocr.detect'] },
  { name: 'ocr-recognize', ocr: { task: 'recognize', recognizer: 'ppocr-rec' }, capabilities: ['ocr.recognize'] },
];

let daemon: DaemonProcess;
let clients: ReturnType<typeof connectAll>;

/** Health checks every 50 ms until `work` settles: its outcome and the probes' latencies. */
async function probeWhile<T>(work: Promise<T>): Promise<{ result: T; probes: number[] }> {
  let done = false;
  const settled = work.finally(() => { done = true; });
  settled.catch(() => { /* rethrown below */ });
  const probes: number[] = [];
  while (!done) {
    const t0 = performance.now();
    const r = await call<{ status: string }>(clients.health, 'Check', { service: '' }, 10_000);
    probes.push(performance.now() - t0);
    expect(r.status).toBe('SERVING');
    await new Promise((r) => setTimeout(r, 50));
  }
  const result = await settled.catch((e: grpc.ServiceError) => { throw new Error(`OCR call failed: ${grpc.status[e.code]} ${e.details}`); });
  return { result, probes };
}

function summary(what: string, probes: readonly number[]): { worst: number; text: string } {
  const worst = Math.max(...probes);
  const p50 = [...probes].sort((a, b) => a - b)[Math.floor(probes.length / 2)] ?? 0;
  return { worst, text: `${what}: worst health check ${worst.toFixed(1)} ms, p50 ${p50.toFixed(1)} ms over ${probes.length} probes` };
}

describe.skipIf(!HAS_CONVERT)('a node working on a large page', () => {
  beforeAll(async () => {
    daemon = await startDaemonProcess({ dataDir: tempDir(), static: true, models: MODELS });
    clients = connectAll(daemon.grpc);
    await call(clients.inference, 'ModelInfer', { model_name: 'ocr.detect', inputs: [imageInput(textImage(['WARM UP']))] }); // session, workers, channel
  }, 30_000);

  afterAll(async () => {
    clients.close();
    await daemon.kill('SIGTERM');
    removeTempDirs();
  });

  it(`answers every health check within ${PROBE_BOUND_MS} ms while it detects and recognizes`, async () => {
    const page = bigPage();
    const det = await probeWhile(call<{ outputs: Output[] }>(clients.inference, 'ModelInfer', { model_name: 'ocr.detect', inputs: [imageInput(page)] }, 60_000));
    const boxes = det.result.outputs.find((o) => o.name === 'boxes')?.contents?.fp32_contents ?? [];
    expect(boxes.length / 8, 'the page has many boxes').toBeGreaterThan(LINES);
    const some = { name: 'boxes', datatype: 'FP32', shape: [RECOGNIZED, 4, 2], contents: { fp32_contents: boxes.slice(0, RECOGNIZED * 8) } };
    const rec = await probeWhile(call<{ outputs: Output[] }>(clients.inference, 'ModelInfer', { model_name: 'ocr.recognize', inputs: [imageInput(page), some] }, 60_000));
    const text = (rec.result.outputs.find((o) => o.name === 'text')?.contents?.bytes_contents ?? []).map((b) => squash(b.toString('utf8')));
    expect(text).toHaveLength(RECOGNIZED);
    expect(text.join(' ')).toMatch(/ALPHA|BRAVO|CHARLIE/);
    const d = summary(`ocr.detect (${boxes.length / 8} boxes)`, det.probes);
    const r = summary(`ocr.recognize (${RECOGNIZED} lines)`, rec.probes);
    console.log(`ocr-responsive: ${d.text}; ${r.text}`);
    expect(det.probes.length + rec.probes.length, 'probes ran while it worked').toBeGreaterThan(5);
    expect(d.worst, d.text).toBeLessThan(PROBE_BOUND_MS);
    expect(r.worst, r.text).toBeLessThan(PROBE_BOUND_MS);
  }, 120_000);
});
