// ocr.read as a routed pipeline across real daemons on loopback: X hosts only ocr.detect, Y only
// ocr.recognize, P only the ocr.read pipeline entry (no OCR model), E nothing. E forwards
// ocr.read to P (the cluster advertises the pipeline like any capability); P routes detect to X
// and recognize to Y; plexus.steps says so. Y is killed (SIGKILL) and Y2 started: the next
// query is served through Y2 within its deadline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ocrModelEntries } from '../../src/inference/index.ts';
import { HAS_CONVERT, squash, textImage } from '../inference/ocr-images.ts';
import { call } from '../node/grpc/helpers.ts';
import {
  originsFor, paramNumber, paramString, removeTempDirs, startClusterNode, startDaemonProcess, tempDir, waitFor,
  type ClusterNode, type DaemonProcess, type WireParams,
} from './helpers.ts';

const entries = (...names: string[]): Record<string, unknown>[] => ocrModelEntries().filter((m) => names.includes(String(m.name)));
const DETECT = entries('ppocr-det', 'ocr-detect');
const RECOGNIZE = entries('ppocr-rec', 'ocr-recognize');
const READ = entries('ocr-read');

interface Output { name: string; shape: string[]; contents: { bytes_contents?: Buffer[] } | null }
interface Response { model_name: string; outputs: Output[]; parameters: WireParams }
interface Step { capability: string; served_by: string; route: string; ms: number; cost: number }

describe.skipIf(!HAS_CONVERT)('ocr.read: a pipeline whose steps are routed', () => {
  let x: ClusterNode, p: ClusterNode, e: ClusterNode, y2: ClusterNode | undefined;
  let y: DaemonProcess;
  let png: Buffer;
  beforeAll(async () => {
    png = textImage(['HELLO WORLD', 'PLEXUS 2026']);
    p = await startClusterNode({ models: READ });
    [x, y, e] = await Promise.all([
      startClusterNode({ models: DETECT, bootstrap: p.addrs }),
      startDaemonProcess({ dataDir: tempDir(), models: RECOGNIZE, bootstrap: p.addrs }),
      startClusterNode({ models: [], bootstrap: p.addrs }),
    ]);
    await waitFor('E knows ocr.read at P; P knows detect at X and recognize at Y', () => originsFor(e, 'ocr.read').has(p.peerId)
      && originsFor(p, 'ocr.detect').has(x.peerId) && originsFor(p, 'ocr.recognize').has(y.peerId), 15_000);
  }, 40_000);
  afterAll(async () => {
    await y.kill();
    await Promise.all([x, p, e, y2].map(async (n) => { await n?.close(); }));
    removeTempDirs();
  });

  const read = (deadlineMs: number): Promise<Response> => call<Response>(e.inference, 'ModelInfer', {
    model_name: 'ocr.read', inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [png] } }],
  }, deadlineMs);
  const texts = (r: Response): string[] => (r.outputs.find((o) => o.name === 'text')?.contents?.bytes_contents ?? []).map((b) => squash(b.toString('utf8')));
  const stepsOf = (r: Response): Step[] => JSON.parse(paramString(r.parameters, 'plexus.steps') ?? '[]') as Step[];

  /** A route (peer ids, comma-separated) from `from` to `to` that visits no peer twice. */
  const expectRoute = (route: string | undefined, from: string, to: string): void => {
    const hops = (route ?? '').split(',');
    expect(hops[0], route).toBe(from);
    expect(hops.at(-1), route).toBe(to);
    expect(new Set(hops).size, route).toBe(hops.length);
  };

  it('E forwards ocr.read to P, which routes detect to X and recognize to Y', async () => {
    const res = await read(20_000);
    expect(texts(res)).toEqual(['HELLOWORLD', 'PLEXUS2026']);
    expect(res.outputs.find((o) => o.name === 'boxes')?.shape).toEqual(['2', '4', '2']);
    expect(paramString(res.parameters, 'plexus.served_by')).toBe(p.peerId);
    // E reaches P directly or through a neighbour it met by discovery (X, Y): either is a loop-free route.
    expectRoute(paramString(res.parameters, 'plexus.route'), e.peerId, p.peerId);
    expect(paramNumber(res.parameters, 'plexus.cost')).toBe(0);
    const steps = stepsOf(res);
    expect(steps.map((s) => [s.capability, s.served_by])).toEqual([['ocr.detect', x.peerId], ['ocr.recognize', y.peerId]]);
    expectRoute(steps[0]?.route, p.peerId, x.peerId);
    expectRoute(steps[1]?.route, p.peerId, y.peerId);
    for (const s of steps) expect(s.ms).toBeGreaterThan(0);
  }, 30_000);

  it('Y killed, Y2 started: the next query is served through Y2 within its deadline', async () => {
    await y.kill('SIGKILL');
    y2 = await startClusterNode({ models: RECOGNIZE, bootstrap: p.addrs });
    const started = y2;
    await waitFor('P knows recognize at Y2', () => originsFor(p, 'ocr.recognize').has(started.peerId), 15_000);
    const t0 = Date.now();
    const res = await read(15_000);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(texts(res)).toEqual(['HELLOWORLD', 'PLEXUS2026']);
    expect(stepsOf(res).map((s) => [s.capability, s.served_by])).toEqual([['ocr.detect', x.peerId], ['ocr.recognize', started.peerId]]);
  }, 40_000);
});
