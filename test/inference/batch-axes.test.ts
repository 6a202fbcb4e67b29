// Dynamic batching along a tensor's own batch axis, on the real Silero VAD v5: its state and
// stateN are [2, N, 128] (axis 1) and its sample rate a scalar every request of a batch shares.
// Batched answers must equal one-at-a-time answers, request by request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { BUILTIN_SILERO_VAD, compileModelSpecs, createLocalInference } from '../../src/inference/index.ts';
import type { LocalInference, Tensor } from '../../src/inference/index.ts';
import { SILERO_VAD_BATCHING } from '../../src/inference/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { seededRandom } from '../../bench/models/mlp.ts';
import { recordingInference } from './recording-inference.ts';

const session = { intraOpThreads: 1, interOpThreads: 1 };

let inf: LocalInference;
let sizesOf: (model: string) => number[];
beforeAll(async () => {
  ({ inf, sizesOf } = await recordingInference([
    { name: 'vad', path: BUILTIN_SILERO_VAD, session },
    // A wait for company, so that requests sent together surely batch.
    { name: 'vad-batched', path: BUILTIN_SILERO_VAD, session, batching: { ...SILERO_VAD_BATCHING, maxBatchSize: 16, maxQueueDelayUs: 20_000 } },
  ], process.cwd()));
});
afterAll(async () => { await inf.close(); });

/** `streams` windows of `samples` at `rate` Hz, each with its own samples and a non-zero state. */
function vadRequest(streams: number, rate: 8000 | 16000, seed: number, samples = 576): Tensor[] {
  const rand = seededRandom(seed);
  return [
    { name: 'input', datatype: 'FP32', shape: [streams, samples], data: Float32Array.from({ length: streams * samples }, () => rand() * 0.6 - 0.3) },
    { name: 'state', datatype: 'FP32', shape: [2, streams, 128], data: Float32Array.from({ length: 2 * streams * 128 }, () => rand() * 0.2 - 0.1) },
    { name: 'sr', datatype: 'INT64', shape: [], data: BigInt64Array.from([BigInt(rate)]) },
  ];
}

async function infer(model: string, inputs: Tensor[]): Promise<Tensor[]> {
  const res = await inf.infer({ model, id: 'a', inputs, outputs: [], parameters: {} });
  return [...res.outputs].sort((a, b) => a.name.localeCompare(b.name));
}

function expectNear(got: Tensor[], want: Tensor[]): void {
  expect(got.map((t) => [t.name, t.shape])).toEqual(want.map((t) => [t.name, t.shape]));
  got.forEach((t, i) => {
    const a = t.data as Float32Array;
    const e = want[i]?.data as Float32Array;
    let worst = 0;
    for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs((a[k] ?? NaN) - (e[k] ?? NaN)));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
}

describe('silero-vad batched along axis 1 of its state, its sample rate shared', () => {
  it('answers each request as it would alone, streams of a request kept together', async () => {
    // One or two streams a request: the state rows of each land back in their own request.
    const requests = Array.from({ length: 12 }, (_, i) => vadRequest(1 + (i % 2), 16000, 10 + i));
    const want: Tensor[][] = [];
    for (const r of requests) want.push(await infer('vad', r));
    const before = sizesOf('vad-batched').length;
    const got = await Promise.all(requests.map((r) => infer('vad-batched', r)));
    got.forEach((g, i) => expectNear(g, want[i] as Tensor[]));
    const sizes = sizesOf('vad-batched').slice(before);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(18);
    expect(Math.max(...sizes)).toBeGreaterThan(2);
  });

  it('never puts requests at different sample rates in one batch', async () => {
    // The same width at both rates (the model takes 288 samples at 16 kHz too): only the shared
    // sample rate keeps them apart.
    const requests = Array.from({ length: 8 }, (_, i) => vadRequest(1, i % 2 === 0 ? 16000 : 8000, 50 + i, 288));
    const want: Tensor[][] = [];
    for (const r of requests) want.push(await infer('vad', r));
    const before = sizesOf('vad-batched').length;
    const got = await Promise.all(requests.map((r) => infer('vad-batched', r)));
    got.forEach((g, i) => expectNear(g, want[i] as Tensor[]));
    // Four at each rate: two batches.
    expect(sizesOf('vad-batched').slice(before).sort()).toEqual([4, 4]);
  });
});

describe('batching.axes in the config', () => {
  const load = (batching: Record<string, unknown>): Promise<LocalInference> => createLocalInference({
    logger: silentLogger(), models: compileModelSpecs([{ name: 'vad', path: BUILTIN_SILERO_VAD, session, batching }], process.cwd()),
  });
  const base = { maxBatchSize: 8, maxQueueDelayUs: 0 };

  it('is refused at load where it does not fit the model, saying why', async () => {
    await expect(load({ ...base, axes: { state: 1, stateN: 1 } })).rejects.toThrow(/input 'sr' is a scalar .*mark a shared input 'shared'/);
    await expect(load({ ...base, axes: { state: 1, stateN: 1, sr: 'shared', h0: 1 } })).rejects.toThrow(/batching\.axes names 'h0', which is not one of its inputs or outputs/);
    await expect(load({ ...base, axes: { state: 1, stateN: 'shared', sr: 'shared' } })).rejects.toThrow(/output 'stateN' is marked 'shared'/);
    await expect(load({ ...base, axes: { state: 3, stateN: 1, sr: 'shared' } })).rejects.toThrow(/input 'state' has 3 dimensions, so no batch axis 3/);
    await expect(load({ ...base, axes: { state: 1, stateN: 1, sr: 'shared' } }).then((i) => i.close())).resolves.toBeUndefined();
    await expect(load({ ...base, axes: { state: 0, stateN: 1, sr: 'shared' } })).rejects.toThrow(ConfigError);
  });

  it('is refused on an adapter, and must be a dimension or "shared"', () => {
    const adapter = { name: 'segs', adapter: { type: 'silero-vad', model: 'vad' }, batching: { ...base, axes: { state: 1 } } };
    expect(() => compileModelSpecs([{ name: 'vad', path: BUILTIN_SILERO_VAD }, adapter], process.cwd())).toThrow(/batching\.axes.*only for a raw model/);
    expect(() => compileModelSpecs([{ name: 'vad', path: BUILTIN_SILERO_VAD, batching: { ...base, axes: { state: -1 } } }], process.cwd())).toThrow(/axes/);
    expect(() => compileModelSpecs([{ name: 'vad', path: BUILTIN_SILERO_VAD, batching: { ...base, axes: { state: 'all' } } }], process.cwd())).toThrow(/axes/);
  });
});
