// Does a GPU session answer what the CPU one answers? A provider can run a model and still get it
// wrong: ONNX Runtime 1.30's WebGPU provider runs silero-vad without an error, and its outputs
// differ from CPU's by more than 1 (measured on an H200, README, GPU). So a model loaded on CUDA or
// WebGPU is first run on one probe input on both providers, and kept on the GPU only when the
// answers agree. Pure ORT and node: only, so bench/gpu-check.ts can use it on a bare machine.
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';

export type Feeds = Record<string, ort.Tensor>;

/** Deterministic numbers in [-scale, scale): the same probe on every machine and every load. */
export function noise(n: number, seed: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    a[i] = ((x / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}

/** Probes for the builtin models (by file name), inputs they accept as real ones. */
const BUILTIN_PROBES: Readonly<Record<string, () => Feeds>> = {
  'silero_vad_v5.onnx': () => ({
    input: new ort.Tensor('float32', noise(576, 1, 0.3), [1, 576]),
    state: new ort.Tensor('float32', noise(256, 2, 0.5), [2, 1, 128]),
    sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
  }),
  'ch_PP-OCRv4_det_infer.onnx': () => ({ x: new ort.Tensor('float32', noise(3 * 320 * 320, 3, 1), [1, 3, 320, 320]) }),
  'ch_PP-OCRv4_rec_infer.onnx': () => ({ x: new ort.Tensor('float32', noise(3 * 48 * 320, 4, 1), [1, 3, 48, 320]) }),
};

/** A dynamic dimension of a probe: 1 for the batch, 32 elsewhere (enough for a strided conv net). */
const dynamicDim = (axis: number): number => (axis === 0 ? 1 : 32);

/**
 * A probe input for the model at `path`: a builtin's own, else noise in every input when all of
 * them are float32 tensors; undefined when no probe can be made (an int or string input: its
 * valid values are the model's business).
 */
export function probeFeeds(path: string, inputs: readonly ort.InferenceSession.ValueMetadata[]): Feeds | undefined {
  const builtin = BUILTIN_PROBES[basename(path)];
  if (builtin !== undefined) return builtin();
  const feeds: Feeds = {};
  for (const [i, m] of inputs.entries()) {
    if (!m.isTensor || m.type !== 'float32') return undefined;
    const dims = m.shape.map((d, axis) => (typeof d === 'number' && d > 0 ? d : dynamicDim(axis)));
    const n = dims.reduce((a, b) => a * b, 1);
    if (n > 16 << 20) return undefined;
    feeds[m.name] = new ort.Tensor('float32', noise(n, 100 + i, 1), dims);
  }
  return feeds;
}

export interface Disagreement {
  readonly output: string;
  readonly maxAbsDiff: number;
}

interface OutputDiff {
  readonly output: string;
  /** Largest |cpu - gpu| (NaN when either holds NaN there; Infinity when the output is missing or of another length). */
  readonly maxAbsDiff: number;
  /** Largest |cpu|, at least 1. */
  readonly scale: number;
}

/** Per numeric output of `cpu`: how far `gpu`'s is from it. */
export function outputDiffs(cpu: ort.InferenceSession.ReturnType, gpu: ort.InferenceSession.ReturnType): OutputDiff[] {
  const out: OutputDiff[] = [];
  for (const [name, want] of Object.entries(cpu)) {
    const got = gpu[name];
    if (got === undefined || got.data.length !== want.data.length) {
      out.push({ output: name, maxAbsDiff: Infinity, scale: 1 });
      continue;
    }
    if (want.type === 'string') continue;
    let diff = 0;
    let scale = 1;
    for (let i = 0; i < want.data.length; i++) {
      const x = Number(want.data[i]);
      const d = Math.abs(x - Number(got.data[i]));
      diff = Math.max(diff, d); // NaN, once seen, stays
      scale = Math.max(scale, Math.abs(x));
    }
    out.push({ output: name, maxAbsDiff: diff, scale });
  }
  return out;
}

/**
 * The output where `gpu` departs most from `cpu`, when it departs by more than float32 kernels
 * do (summation order, fused ops): 1e-3 of the output's own scale, at least 1e-3.
 */
export function disagreement(cpu: ort.InferenceSession.ReturnType, gpu: ort.InferenceSession.ReturnType): Disagreement | undefined {
  let worst: Disagreement | undefined;
  for (const d of outputDiffs(cpu, gpu)) {
    if (!(d.maxAbsDiff <= 1e-3 * d.scale) && (worst === undefined || !(d.maxAbsDiff <= worst.maxAbsDiff))) worst = { output: d.output, maxAbsDiff: d.maxAbsDiff };
  }
  return worst;
}

/** ORT's error cut to its reason: the first line, without webgpu_context.cc's source path and failed check. */
export function providerError(e: unknown): string {
  const line = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
  const reason = /\bwas false\. (.+)$/.exec(line)?.[1] ?? line;
  return reason.slice(0, 300) || 'unknown error';
}

/**
 * Runs `feeds` on both sessions: the reason the GPU one must not be used, or undefined when it
 * answers as the CPU one does. A probe the CPU session itself refuses proves nothing: undefined.
 */
export async function gpuAnswerMismatch(cpu: ort.InferenceSession, gpu: ort.InferenceSession, feeds: Feeds): Promise<string | undefined> {
  let want: ort.InferenceSession.ReturnType;
  try {
    want = await cpu.run(feeds);
  } catch {
    return undefined;
  }
  let got: ort.InferenceSession.ReturnType;
  try {
    got = await gpu.run(feeds);
  } catch (e) {
    return `a probe input that CPU runs fails there: ${providerError(e).slice(0, 200)}`;
  }
  const d = disagreement(want, got);
  return d === undefined ? undefined : `its answers differ from CPU's on a probe input: max |Δ| ${d.maxAbsDiff.toPrecision(3)} in output '${d.output}'`;
}
