// The three OCR capabilities over plain KServe v2 gRPC (typed contents), timed at the caller:
// ocr.read, ocr.detect, and ocr.recognize on the boxes ocr.detect found.
import { performance } from 'node:perf_hooks';
import { createKServeClient, type KServeClient } from '../kserve-client.ts';
import { parseSteps, type StepCall } from './steps.ts';

interface WireParam { string_param?: string; double_param?: number; int64_param?: string; parameter_choice?: string }
interface WireOutput { name: string; contents?: { bytes_contents?: Buffer[]; fp32_contents?: number[] } | null }
interface WireResponse { outputs: WireOutput[]; parameters?: Record<string, WireParam> }

const DEADLINE_MS = 30_000;

function request(model: string, png: Buffer, boxes?: readonly number[]): unknown {
  const inputs: unknown[] = [{ name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [png] } }];
  if (boxes !== undefined) inputs.push({ name: 'boxes', datatype: 'FP32', shape: [boxes.length / 8, 4, 2], contents: { fp32_contents: boxes } });
  return { model_name: model, id: '', parameters: {}, inputs, outputs: [] };
}

function output(res: WireResponse, name: string): WireOutput {
  const o = res.outputs.find((x) => x.name === name);
  if (o === undefined) throw new Error(`response has no output '${name}'`);
  return o;
}

const texts = (res: WireResponse): string[] => (output(res, 'text').contents?.bytes_contents ?? []).map((b) => b.toString('utf8'));
const boxesOf = (res: WireResponse): number[] => output(res, 'boxes').contents?.fp32_contents ?? [];

/** A response parameter as text ('' when absent). */
export function paramText(res: { parameters?: Record<string, WireParam> }, key: string): string {
  const p = res.parameters?.[key];
  if (p === undefined) return '';
  if (p.parameter_choice === 'double_param' || (p.parameter_choice === undefined && p.string_param === '' && p.double_param !== undefined)) return String(p.double_param);
  if (p.parameter_choice === 'int64_param') return String(p.int64_param);
  return p.string_param ?? '';
}

export interface Timed<T> { readonly ms: number; readonly value: T }

async function timed<T>(f: () => Promise<T>): Promise<Timed<T>> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

export interface ReadAnswer { readonly text: string[]; readonly steps: StepCall[]; readonly servedBy: string }

export interface OcrClient {
  read(png: Buffer): Promise<Timed<ReadAnswer>>;
  detect(png: Buffer): Promise<Timed<number[]>>;
  recognize(png: Buffer, boxes: readonly number[]): Promise<Timed<string[]>>;
  close(): void;
}

export function createOcrClient(address: string): OcrClient {
  const c: KServeClient = createKServeClient(address);
  const infer = async (req: unknown): Promise<WireResponse> => (await c.infer(req, DEADLINE_MS)) as WireResponse;
  return {
    read: (png) => timed(async () => {
      const res = await infer(request('ocr.read', png));
      return { text: texts(res), steps: parseSteps(paramText(res, 'plexus.steps')), servedBy: paramText(res, 'plexus.served_by') };
    }),
    detect: (png) => timed(async () => boxesOf(await infer(request('ocr.detect', png)))),
    recognize: (png, boxes) => timed(async () => texts(await infer(request('ocr.recognize', png, boxes)))),
    close: () => { c.close(); },
  };
}
