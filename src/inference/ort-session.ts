// ONNX Runtime itself: session creation with the logged GPU -> CPU fallback, and tensors in and
// out of ORT without copying bytes. Loaded only where sessions run: in a model worker thread
// (worker/ort-worker.ts), or on the main thread when `inference.workers` is 0.
import * as ort from 'onnxruntime-node';
import { ConfigError, InferenceFailedError, InvalidInputError } from '../errors.ts';
import type { OnnxModelSpec } from './config.ts';
import { DATATYPES, dataTypeFromOrt } from '../wire/tensor.ts';
import { gpuAnswerMismatch, probeFeeds, providerError } from './provider-check.ts';
import type { ExecutionProvider, Tensor } from './types.ts';

/** A value's declared form as ORT reports it (plain data: it crosses threads). */
export interface ValueMeta {
  readonly name: string;
  readonly isTensor: boolean;
  /** ORT element type ('float32', ...); absent for non-tensors. */
  readonly type?: string;
  readonly shape: readonly (number | string)[];
}

export interface OpenedSession {
  readonly session: ort.InferenceSession;
  readonly provider: ExecutionProvider;
  /** Why the GPU provider asked for (CUDA or WebGPU) was not used, when the session fell back to CPU. */
  readonly fallback?: string;
}

/** A session run's outputs and how long it took where it ran (plain data: it crosses threads). */
export interface SessionRun {
  readonly outputs: Tensor[];
  readonly ms: number;
}

/** The parts of a model spec a session needs (plain data: it crosses threads). */
export type SessionSpecOf = Pick<OnnxModelSpec, 'name' | 'path' | 'provider' | 'session'>;

function sessionOptions(spec: SessionSpecOf, provider: ExecutionProvider): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: spec.session.graphOptimization,
    ...(spec.session.intraOpThreads !== undefined ? { intraOpNumThreads: spec.session.intraOpThreads } : {}),
    ...(spec.session.interOpThreads !== undefined ? { interOpNumThreads: spec.session.interOpThreads } : {}),
    // ORT's own logger writes to stderr, and run failures (often a client's odd shapes) come back
    // to us as exceptions anyway: keep it to fatal so our structured logs stay readable.
    logSeverityLevel: 4,
  };
}

/**
 * A session on the provider the spec asks for. A GPU provider that cannot start (no CUDA
 * libraries, no WebGPU adapter), or that answers a probe input differently from CPU, falls back
 * to CPU, with the reason in `fallback`.
 */
export async function openSession(spec: SessionSpecOf): Promise<OpenedSession> {
  let fallback: string | undefined;
  if (spec.provider !== 'cpu') {
    let gpu: ort.InferenceSession | undefined;
    try {
      gpu = await ort.InferenceSession.create(spec.path, sessionOptions(spec, spec.provider));
    } catch (e) {
      fallback = providerError(e);
    }
    if (gpu !== undefined) {
      // Kept on the GPU only when it answers a probe as CPU does (provider-check.ts); a model
      // no probe can be made for is kept there unchecked.
      const feeds = probeFeeds(spec.path, gpu.inputMetadata);
      if (feeds === undefined) return { session: gpu, provider: spec.provider };
      const cpu = await openCpu(spec, gpu);
      const mismatch = await gpuAnswerMismatch(cpu, gpu, feeds);
      if (mismatch === undefined) {
        await cpu.release();
        return { session: gpu, provider: spec.provider };
      }
      await gpu.release();
      return { session: cpu, provider: 'cpu', fallback: mismatch };
    }
  }
  return { session: await openCpu(spec), provider: 'cpu', ...(fallback !== undefined ? { fallback } : {}) };
}

/** The CPU session; ConfigError when the model cannot load (`gpu`, when open, is released first). */
async function openCpu(spec: SessionSpecOf, gpu?: ort.InferenceSession): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(spec.path, sessionOptions(spec, 'cpu'));
  } catch (e) {
    await gpu?.release();
    throw new ConfigError(`model '${spec.name}': cannot load '${spec.path}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

export function valueMetas(meta: readonly ort.InferenceSession.ValueMetadata[]): ValueMeta[] {
  return meta.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false, shape: [] }));
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

export function toOrtTensor(t: Tensor): ort.Tensor {
  const dims = [...t.shape];
  if (Array.isArray(t.data)) return new ort.Tensor('string', t.data.map((b) => utf8Decoder.decode(b)), dims);
  const type = DATATYPES[t.datatype].ort;
  if (type === undefined || type === 'string') throw new InvalidInputError(`input '${t.name}': datatype ${t.datatype} cannot be run by ONNX Runtime`);
  // Same typed array, same buffer: ORT reads it in place.
  return new ort.Tensor(type, t.data, dims);
}

export function fromOrtTensor(name: string, v: ort.Tensor): Tensor {
  const datatype = dataTypeFromOrt(v.type);
  if (datatype === undefined) throw new InferenceFailedError(`output '${name}' has unsupported element type '${v.type}'`);
  const shape = [...v.dims];
  if (datatype === 'BYTES') return { name, datatype, shape, data: (v.data as string[]).map((s) => utf8Encoder.encode(s)) };
  return { name, datatype, shape, data: v.data as Exclude<Tensor['data'], Uint8Array[]> };
}

/**
 * One session run in Plexus tensors: outputs in `fetches` order, and the run's time on this
 * thread. ORT failures: InferenceFailedError with the ORT error as cause.
 */
export async function runSession(session: ort.InferenceSession, model: string, feeds: readonly Tensor[], fetches: readonly string[]): Promise<SessionRun> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const t of feeds) ortFeeds[t.name] = toOrtTensor(t);
  let result: ort.InferenceSession.ReturnType;
  const t0 = performance.now();
  try {
    result = await session.run(ortFeeds, [...fetches]);
  } catch (e) {
    throw new InferenceFailedError(`model '${model}' failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const ms = performance.now() - t0;
  const outputs = fetches.map((n) => {
    const v = result[n];
    if (v === undefined) throw new InferenceFailedError(`model '${model}' returned no output '${n}'`);
    return fromOrtTensor(n, v);
  });
  return { outputs, ms };
}
