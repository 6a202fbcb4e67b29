// A model asked to run on a GPU is kept there only when it answers a probe as CPU does
// (src/inference/provider-check.ts): the probe inputs, the tolerance, and the check on real ONNX
// Runtime sessions. Then WebGPU end to end through a model worker: on a machine without a WebGPU
// adapter (CI) the session says why it cannot start; on one with an adapter (an H200 with
// Vulkan, README, GPU) ORT 1.30's WebGPU provider answers silero-vad wrongly, and the check says
// that. Either way silero-vad asked for on WebGPU runs on CPU, with one warning naming the reason.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILTIN_SILERO_VAD, compileInferenceSettings, compileModelSpecs, type OnnxModelSpec } from '../../src/inference/index.ts';
import { disagreement, gpuAnswerMismatch, noise, probeFeeds } from '../../src/inference/provider-check.ts';
import { createWorkerHost } from '../../src/inference/worker/worker-host.ts';

const { onnx } = onnxProto;
const dir = mkdtempSync(path.join(tmpdir(), 'plexus-provider-check-'));
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

/** y = a·x + b elementwise on a float x of shape [batch, n] (both dynamic). */
function writeAffine(name: string, a: number, b: number): string {
  const info = (n: string): onnxProto.onnx.IValueInfoProto => ({
    name: n, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'n' }] } } },
  });
  const scalar = (n: string, v: number): onnxProto.onnx.ITensorProto => ({ name: n, dims: [], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(new Float32Array([v]).buffer) });
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name, node: [{ opType: 'Mul', input: ['x', 'a'], output: ['t'] }, { opType: 'Add', input: ['t', 'b'], output: ['y'] }],
      initializer: [scalar('a', a), scalar('b', b)], input: [info('x')], output: [info('y')],
    },
  };
  const file = path.join(dir, `${name}.onnx`);
  writeFileSync(file, onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish());
  return file;
}

const out = (data: number[]): ort.InferenceSession.ReturnType => ({ y: new ort.Tensor('float32', Float32Array.from(data), [data.length]) });

describe('probe inputs', () => {
  it('are the same numbers on every call', () => {
    expect(noise(4, 7, 1)).toEqual(noise(4, 7, 1));
    expect(noise(4, 7, 1)).not.toEqual(noise(4, 8, 1));
    expect(Math.max(...noise(1000, 1, 0.3).map(Math.abs))).toBeLessThanOrEqual(0.3);
  });

  it("a builtin's own probe, found by file name: silero-vad gets a real sample rate", () => {
    const f = probeFeeds('/anywhere/silero_vad_v5.onnx', []);
    expect(Object.keys(f ?? {})).toEqual(['input', 'state', 'sr']);
    expect(f?.['sr']?.data).toEqual(BigInt64Array.from([16000n]));
    expect(probeFeeds('/x/ch_PP-OCRv4_det_infer.onnx', [])?.['x']?.dims).toEqual([1, 3, 320, 320]);
  });

  it('otherwise noise in float inputs (batch 1, other dynamic dims 32), and none when an input is not float', () => {
    const meta = (type: string, shape: (number | string)[]): ort.InferenceSession.ValueMetadata => ({ name: 'x', isTensor: true, type, shape } as ort.InferenceSession.ValueMetadata);
    expect(probeFeeds('/m.onnx', [meta('float32', ['batch', 3, 'h', -1])])?.['x']?.dims).toEqual([1, 3, 32, 32]);
    expect(probeFeeds('/m.onnx', [meta('int64', [1])])).toBeUndefined();
    expect(probeFeeds('/m.onnx', [meta('float32', [4096, 4096, 2])])).toBeUndefined(); // too large to probe
  });
});

describe('disagreement', () => {
  it('tolerates float32 kernel differences (1e-3 of the output scale) and nothing more', () => {
    expect(disagreement(out([1, 2, 3]), out([1, 2, 3.0009]))).toBeUndefined();
    expect(disagreement(out([1000, 2]), out([1000.5, 2]))).toBeUndefined();
    expect(disagreement(out([1, 2, 3]), out([1, 2, 3.01]))).toEqual({ output: 'y', maxAbsDiff: expect.closeTo(0.01, 5) as number });
    expect(disagreement(out([1, 2]), out([1, NaN]))?.output).toBe('y');
  });

  it('a missing output or one of another length disagrees outright', () => {
    expect(disagreement(out([1, 2]), {})).toEqual({ output: 'y', maxAbsDiff: Infinity });
    expect(disagreement(out([1, 2]), out([1, 2, 3]))).toEqual({ output: 'y', maxAbsDiff: Infinity });
  });
});

describe('gpuAnswerMismatch on real sessions', () => {
  const exact = writeAffine('affine', 2, 1);
  const off = writeAffine('affine-off', 2, 1.05);
  const open = (file: string): Promise<ort.InferenceSession> => ort.InferenceSession.create(file, { executionProviders: ['cpu'] });

  it('agrees with a session of the same model, and names the output and the difference of another', async () => {
    const [a, b, c] = await Promise.all([open(exact), open(exact), open(off)]);
    const feeds = probeFeeds(exact, a.inputMetadata);
    expect(feeds?.['x']?.dims).toEqual([1, 32]);
    expect(await gpuAnswerMismatch(a, b, feeds ?? {})).toBeUndefined();
    expect(await gpuAnswerMismatch(a, c, feeds ?? {})).toBe("its answers differ from CPU's on a probe input: max |Δ| 0.0500 in output 'y'");
  });

  it('a probe the CPU session refuses proves nothing; one only the other refuses is a mismatch', async () => {
    const vadPath = (compileModelSpecs([{ name: 'v', path: BUILTIN_SILERO_VAD }], process.cwd())[0] as OnnxModelSpec).path;
    const [a, vad] = await Promise.all([open(exact), open(vadPath)]);
    const wrong = { x: new ort.Tensor('float32', new Float32Array(3), [3]) }; // rank 1: the affine model wants [batch, n]
    expect(await gpuAnswerMismatch(a, a, wrong)).toBeUndefined();
    const affineFeeds = { x: new ort.Tensor('float32', new Float32Array(2), [1, 2]) };
    expect(await gpuAnswerMismatch(a, vad, affineFeeds)).toMatch(/^a probe input that CPU runs fails there: /);
  });
});

describe('silero-vad asked for on WebGPU, through a model worker', () => {
  const [spec] = compileModelSpecs([{ name: 'vad', path: BUILTIN_SILERO_VAD, session: { intraOpThreads: 1, interOpThreads: 1 }, provider: 'webgpu' }], process.cwd());
  const host = createWorkerHost({ ...compileInferenceSettings({}), workers: 1 });
  afterAll(async () => { await host.close(); });

  it('runs on CPU, with one warning saying why (no adapter here, or its wrong answers on a GPU)', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => { lines.push(s); } });
    const session = await host.openSession(spec as OnnxModelSpec, logger);
    expect(session.provider).toBe('cpu');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ level: 40, model: 'vad', requestedProvider: 'webgpu', provider: 'cpu' });
    expect(line['msg']).toMatch(/^WebGPU execution provider unavailable for model vad \((Failed to get a WebGPU adapter: .+|its answers differ from CPU's on a probe input: max \|Δ\| [0-9.]+ in output '(output|stateN)')\); falling back to CPU$/);
    const r = await session.run([
      { name: 'input', datatype: 'FP32', shape: [1, 576], data: new Float32Array(576) },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Float32Array(256) },
      { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array([16000n]) },
    ], ['output']);
    expect(r.outputs[0]?.shape).toEqual([1, 1]);
    await session.release();
  }, 30_000);
});
