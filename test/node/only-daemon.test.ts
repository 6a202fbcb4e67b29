// `plexus node start --only` on a real daemon process (the embedded default, cut to ocr.detect and
// speech.vad.raw): GetNode and ModelReady show only the chosen entries and the raw models they
// run on; the chosen capability answers; an unknown name stops the start, listing what exists.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plexus } from '../cli/run-plexus.ts';
import { removeTempDirs, startDaemonProcess, tempDir, type DaemonProcess } from '../cluster/helpers.ts';
import { HAS_CONVERT, textImage } from '../inference/ocr-images.ts';
import { call, connectAll } from './grpc/helpers.ts';

let daemon: DaemonProcess;
let clients: ReturnType<typeof connectAll>;
beforeAll(async () => {
  daemon = await startDaemonProcess({ dataDir: tempDir(), static: true, args: ['--only', 'ocr.detect,speech.vad.raw'] });
  clients = connectAll(daemon.grpc);
}, 30_000);
afterAll(async () => {
  clients.close();
  await daemon.kill('SIGTERM');
  removeTempDirs();
});

describe('node start --only', () => {
  it('hosts the entries serving the chosen capabilities and the raw models they run on, nothing else', async () => {
    const node = await call<{ models: { name: string; ready: boolean }[]; capabilities: string[] }>(clients.plexus, 'GetNode', {});
    expect(node.models.map((m) => [m.name, m.ready])).toEqual([['silero-vad', true], ['ppocr-det', true], ['ocr-detect', true]]);
    expect(node.capabilities).toEqual(['ocr.detect', 'speech.vad.raw']);
    const ready = async (name: string): Promise<boolean> => (await call<{ ready: boolean }>(clients.inference, 'ModelReady', { name })).ready;
    expect(await ready('ocr.detect')).toBe(true);
    expect(await ready('speech.vad.raw')).toBe(true);
    for (const name of ['ocr.read', 'ocr.recognize', 'speech.vad', 'ppocr-rec', 'silero-vad-segments']) expect(await ready(name)).toBe(false);
  });

  it.skipIf(!HAS_CONVERT)('answers the chosen capability', async () => {
    const res = await call<{ model_name: string; outputs: { name: string; shape: string[] }[] }>(clients.inference, 'ModelInfer', {
      model_name: 'ocr.detect', inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [textImage(['HELLO', 'WORLD'])] } }],
    });
    expect(res.model_name).toBe('ocr-detect');
    expect(res.outputs.find((o) => o.name === 'boxes')?.shape).toEqual(['2', '4', '2']);
  });

  it('refuses an unknown capability at start, listing what the config serves', async () => {
    const r = await plexus(['node', 'start', '--only', 'ocr.read,ocr.translate', '--grpc', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0',
      '--data-dir', path.join(tempDir(), 'data'), '--log-level', 'info']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe("plexus: invalid configuration: --only: 'ocr.translate' is not served by the embedded default; it serves: ocr.detect, ocr.read, ocr.recognize, speech.vad, speech.vad.raw");
  });
});
