// Dynamic batching of raw ONNX models, on real ORT sessions of tiny graphs with a dynamic batch
// dimension: the bench's seeded MLP, and an elementwise graph whose inner dimension is dynamic
// too (so requests of different shapes exist). Batched answers equal one-at-a-time answers,
// batches respect maxBatchSize and never mix shapes, and the queue's limits, deadlines,
// cancellation and shutdown behave as the unbatched queue does.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_MLP, seededRandom, writeMlpModel } from '../../bench/models/mlp.ts';
import { CancelledError, ConfigError, DeadlineExceededError, QueueFullError, ShuttingDownError } from '../../src/errors.ts';
import { BUILTIN_SILERO_VAD, compileModelSpecs, createLocalInference } from '../../src/inference/index.ts';
import type { LocalInference, Tensor } from '../../src/inference/index.ts';
import { loadOrtModel } from '../../src/inference/ort-model.ts';
import { silentLogger } from '../../src/logger.ts';
import { recordingInference } from './recording-inference.ts';

const { onnx } = onnxProto;
const dir = mkdtempSync(path.join(tmpdir(), 'plexus-batcher-test-'));
const mlpPath = writeMlpModel();

/** y = 2x + 1 elementwise; x is [batch, n] with both dims dynamic unless `fixedBatch` is set. */
function writeAffineModel(file: string, fixedBatch?: number): string {
  const dim = (d: number | string): onnxProto.onnx.TensorShapeProto.IDimension => (typeof d === 'string' ? { dimParam: d } : { dimValue: d });
  const info = (name: string): onnxProto.onnx.IValueInfoProto => ({
    name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [dim(fixedBatch ?? 'batch'), dim('n')] } } },
  });
  const scalar = (name: string, v: number): onnxProto.onnx.ITensorProto => ({
    name, dims: [], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(new Float32Array([v]).buffer),
  });
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'affine',
      node: [{ opType: 'Mul', input: ['x', 'two'], output: ['t'] }, { opType: 'Add', input: ['t', 'one'], output: ['y'] }],
      initializer: [scalar('two', 2), scalar('one', 1)],
      input: [info('x')], output: [info('y')],
    },
  };
  const p = path.join(dir, file);
  writeFileSync(p, onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish());
  return p;
}
const affinePath = writeAffineModel('affine.onnx');
const fixedPath = writeAffineModel('affine-fixed.onnx', 1);

const session = { intraOpThreads: 1, interOpThreads: 1 };

let inf: LocalInference;
let sizesOf: (model: string) => number[];
beforeAll(async () => {
  ({ inf, sizesOf } = await recordingInference([
    { name: 'mlp', path: mlpPath, session },
    { name: 'mlp-batched', path: mlpPath, session, batching: { maxBatchSize: 8, maxQueueDelayUs: 20_000 } },
    { name: 'mlp-small', path: mlpPath, session, batching: { maxBatchSize: 3, maxQueueDelayUs: 20_000 } },
    // A long queue delay: requests stay queued until their group fills (or they leave).
    { name: 'affine-slow', path: affinePath, session, maxQueue: 4, batching: { maxBatchSize: 4, maxQueueDelayUs: 10_000_000 } },
    { name: 'affine', path: affinePath, session, batching: { maxBatchSize: 16, maxQueueDelayUs: 50_000 } },
    // No wait for company (as the embedded default's silero-vad).
    { name: 'affine-now', path: affinePath, session, batching: { maxBatchSize: 16, maxQueueDelayUs: 0 } },
  ], dir));
});
afterAll(async () => { await inf.close(); });

function mlpInput(rows: number, seed: number): Tensor {
  const rand = seededRandom(seed);
  const data = Float32Array.from({ length: rows * DEFAULT_MLP.inputs }, () => rand() * 2 - 1);
  return { name: 'x', datatype: 'FP32', shape: [rows, DEFAULT_MLP.inputs], data };
}

async function infer(model: string, x: Tensor, opts: { deadline?: number; signal?: AbortSignal } = {}): Promise<Tensor> {
  const res = await inf.infer({ model, id: 'b', inputs: [x], outputs: [], parameters: {}, ...opts });
  const y = res.outputs[0];
  if (y === undefined) throw new Error('no output');
  return y;
}

function expectNear(actual: Tensor, expected: Tensor): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.data as Float32Array;
  const e = expected.data as Float32Array;
  expect(a.length).toBe(e.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] ?? NaN) - (e[i] ?? NaN)));
  expect(worst).toBeLessThanOrEqual(1e-6);
}

describe('batched results', () => {
  it('equal one-at-a-time results, request by request, rows included', async () => {
    const inputs = Array.from({ length: 24 }, (_, i) => mlpInput(1 + (i % 3), 100 + i)); // 1, 2 or 3 rows
    const expected: Tensor[] = [];
    for (const x of inputs) expected.push(await infer('mlp', x));
    const before = sizesOf('mlp-batched').length;
    const got = await Promise.all(inputs.map((x) => infer('mlp-batched', x)));
    got.forEach((y, i) => expectNear(y, expected[i] as Tensor));
    const sizes = sizesOf('mlp-batched').slice(before);
    // 48 rows in batches of at most 8 rows: several runs, and some really merged requests.
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(48);
    expect(Math.max(...sizes)).toBeGreaterThan(3);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
    const stats = inf.stats('mlp-batched')?.batching;
    expect(stats?.maxBatchSize).toBe(8);
    expect(stats?.items).toBe(48);
    expect(stats?.batches).toBe(sizes.length);
    expect(inf.stats('mlp')?.batching).toBeUndefined();
  });

  it('respect maxBatchSize', async () => {
    const inputs = Array.from({ length: 20 }, (_, i) => mlpInput(1, 200 + i));
    const before = sizesOf('mlp-small').length;
    const got = await Promise.all(inputs.map((x) => infer('mlp-small', x)));
    for (let i = 0; i < inputs.length; i++) expectNear(got[i] as Tensor, await infer('mlp', inputs[i] as Tensor));
    const sizes = sizesOf('mlp-small').slice(before);
    expect(sizes.every((s) => s <= 3)).toBe(true);
    expect(sizes).toContain(3);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(20);
  });

  it('with no wait for company: a request that finds the model idle runs at once, alone; those behind it batch', async () => {
    const x = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([v, v]) });
    const before = sizesOf('affine-now').length;
    expect((await infer('affine-now', x(1))).data).toEqual(new Float32Array([3, 3]));
    // Six in one turn: the first takes the free slot at once (a batch of one); the five sent
    // while it runs wait in the queue and go together once it is done.
    const got = await Promise.all([2, 3, 4, 5, 6, 7].map((v) => infer('affine-now', x(v))));
    expect(got.map((y) => (y.data as Float32Array)[0])).toEqual([5, 7, 9, 11, 13, 15]);
    expect(sizesOf('affine-now').slice(before)).toEqual([1, 1, 5]);
    expect(inf.stats('affine-now')?.queued).toBe(0);
  });

  it('never stack requests of different shapes', async () => {
    const make = (n: number, k: number): Tensor => ({
      name: 'x', datatype: 'FP32', shape: [1, n], data: Float32Array.from({ length: n }, (_, i) => k * 10 + i),
    });
    const inputs = [make(3, 1), make(5, 2), make(3, 3), make(5, 4), make(3, 5), make(7, 6)];
    const before = sizesOf('affine').length;
    const got = await Promise.all(inputs.map((x) => infer('affine', x)));
    got.forEach((y, i) => {
      const x = inputs[i] as Tensor;
      expect(y.shape).toEqual(x.shape);
      expect(Array.from(y.data as Float32Array)).toEqual(Array.from(x.data as Float32Array, (v) => 2 * v + 1));
    });
    // Three shapes, three batches: 3 of width 3, 2 of width 5, 1 of width 7.
    expect(sizesOf('affine').slice(before).sort()).toEqual([1, 2, 3]);
  });
});

describe('the batch queue', () => {
  const x1 = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([v, v]) });

  it('refuses requests beyond maxQueue with QueueFullError', async () => {
    // Six at once into a queue of four that dispatches only when full: the last two are refused.
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => infer('affine-slow', x1(i))));
    expect(results.slice(0, 4).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    for (const r of results.slice(4)) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(QueueFullError);
    }
    results.slice(0, 4).forEach((r, i) => {
      expect(Array.from(((r as PromiseFulfilledResult<Tensor>).value).data as Float32Array)).toEqual([2 * i + 1, 2 * i + 1]);
    });
  });

  it('lets a request leave on its deadline or abort while queued, and the rest still batch', async () => {
    const ac = new AbortController();
    const late = infer('affine-slow', x1(1), { deadline: Date.now() + 100 });
    const aborted = infer('affine-slow', x1(2), { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await Promise.all([expect(late).rejects.toThrow(DeadlineExceededError), expect(aborted).rejects.toThrow(CancelledError)]);
    // The engine answers the caller on its own deadline timer; the batcher drops the entry on
    // its timer for the same deadline, which may fire just after (a CI run saw queued = 1 here).
    await vi.waitFor(() => { expect(inf.stats('affine-slow')?.queued).toBe(0); }, { timeout: 1000, interval: 5 });
    // The queue is empty again: four newcomers fill a batch of their own.
    const before = sizesOf('affine-slow').length;
    const got = await Promise.all([3, 4, 5, 6].map((v) => infer('affine-slow', x1(v))));
    expect(got.map((y) => (y.data as Float32Array)[0])).toEqual([7, 9, 11, 13]);
    expect(sizesOf('affine-slow').slice(before)).toEqual([4]);
  });

  it('fails waiting requests with ShuttingDownError on close', async () => {
    const spec = compileModelSpecs([{ name: 'affine-close', path: affinePath, session, batching: { maxBatchSize: 8, maxQueueDelayUs: 10_000_000 } }], dir)[0];
    if (spec?.kind !== 'onnx') throw new Error('expected an onnx spec');
    const m = await loadOrtModel(spec, silentLogger());
    const waiting = m.run([x1(1)], []);
    expect(m.queued).toBe(1);
    await m.close();
    await expect(waiting).rejects.toThrow(ShuttingDownError);
    await expect(m.run([x1(2)], [])).rejects.toThrow(ShuttingDownError);
  });
});

describe('config', () => {
  it('refuses batching on a model whose batch dimension is fixed', async () => {
    const load = (p: string): Promise<LocalInference> => createLocalInference({
      logger: silentLogger(),
      models: compileModelSpecs([{ name: 'fixed', path: p, session, batching: { maxBatchSize: 4, maxQueueDelayUs: 1000 } }], dir),
    });
    await expect(load(fixedPath)).rejects.toThrow(ConfigError);
    await expect(load(fixedPath)).rejects.toThrow(/fixed batch dimension \(dim 0 = 1\)/);
    // Silero VAD v5: state is [2, batch, 128], so dim 0 is not the batch without batching.axes (batch-axes.test.ts).
    await expect(load(BUILTIN_SILERO_VAD)).rejects.toThrow(/input 'state' has a fixed batch dimension \(dim 0 = 2\)/);
    // The same graphs load fine without batching.
    const ok = await createLocalInference({ logger: silentLogger(), models: compileModelSpecs([{ name: 'fixed', path: fixedPath, session }], dir) });
    await ok.close();
  });

  it('refuses maxBatchSize beyond maxQueue', () => {
    expect(() => compileModelSpecs([{ name: 'm', path: mlpPath, maxQueue: 4, batching: { maxBatchSize: 8, maxQueueDelayUs: 0 } }], dir))
      .toThrow(/models\[0\]\.batching\.maxBatchSize: expected <= maxQueue \(4\)/);
  });
});
