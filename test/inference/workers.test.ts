// Models on worker threads (src/inference/worker/): the same answers as on the main thread,
// the CUDA -> CPU fallback still logged, audio limits checked from the WAV header and named,
// the deadline and cancellation honoured during a long decode, and tensors moved, not copied,
// where the caller gave them away.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, DeadlineExceededError, InvalidInputError } from '../../src/errors.ts';
import {
  BUILTIN_SILERO_VAD, compileInferenceSettings, compileModelSpecs, createLocalInference, defaultModelSpecs,
  type InferResult, type LocalInference, type OnnxModelSpec,
} from '../../src/inference/index.ts';
import { giveAway } from '../../src/inference/model-host.ts';
import { loadOrtModel, type OrtModel } from '../../src/inference/ort-model.ts';
import { createWorkerHost } from '../../src/inference/worker/worker-host.ts';
import { silentLogger } from '../../src/logger.ts';
import { SPEECH_WAV, toneWav } from '../node/grpc/helpers.ts';
import { buildWav } from './wav-builder.ts';

const vad = (inf: LocalInference, wav: Uint8Array, extra: { deadline?: number; signal?: AbortSignal } = {}): Promise<InferResult> =>
  inf.infer({ model: 'speech.vad', id: 'q', inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [wav] }], outputs: [], parameters: {}, ...extra });

const errorOf = (p: Promise<unknown>): Promise<Error> => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as Error);

describe('speech.vad with models on a worker thread', () => {
  let worker: LocalInference;
  let main: LocalInference;
  beforeAll(async () => {
    const settings = compileInferenceSettings({ workers: 1, audio: { maxDurationS: 20 * 60, maxSampleRate: 96_000, maxChannels: 4 } });
    [worker, main] = await Promise.all([
      createLocalInference({ models: defaultModelSpecs(), logger: silentLogger(), settings }),
      createLocalInference({ models: defaultModelSpecs(), logger: silentLogger(), settings: { ...settings, workers: 0 } }),
    ]);
  }, 30_000);
  afterAll(async () => { await Promise.all([worker.close(), main.close()]); });

  it('answers as the main thread does, and leaves the caller\'s WAV intact', async () => {
    const wav = new Uint8Array(SPEECH_WAV);
    const [a, b] = await Promise.all([vad(worker, wav), vad(main, wav)]);
    expect(Array.from(a.outputs[0]?.data as Float32Array)).toEqual(Array.from(b.outputs[0]?.data as Float32Array));
    expect(a.outputs[0]?.shape).toEqual([2, 2]);
    expect(wav.byteLength).toBe(SPEECH_WAV.byteLength); // copied to the worker, never detached
  });

  it('refuses audio over a limit from its header, naming the limit', async () => {
    const tone = (sampleRate: number, channels: number): Uint8Array => buildWav({ sampleRate, channels, bits: 16, samples: new Float32Array(channels * 100) });
    const cases: [Uint8Array, RegExp][] = [
      [tone(16_000, 5), /5 channels; expected 1\.\.4 \(limit inference\.audio\.maxChannels\)/],
      [tone(192_000, 1), /sample rate 192000 Hz; expected 1000\.\.96000 \(limit inference\.audio\.maxSampleRate\)/],
      [toneWav(21 * 60, 1000), /1260\.0 s of audio; expected at most 1200 s \(limit inference\.audio\.maxDurationS\)/],
    ];
    for (const [wav, message] of cases) {
      for (const inf of [worker, main]) {
        const e = await errorOf(vad(inf, wav));
        expect(e).toBeInstanceOf(InvalidInputError);
        expect(e.message).toMatch(message);
      }
    }
  });

  it('stops a long decode at its deadline or on cancel, and goes on serving', async () => {
    const long = toneWav(15 * 60, 1000); // seconds of resampling
    const t0 = performance.now();
    expect(await errorOf(vad(worker, long, { deadline: Date.now() + 150 }))).toBeInstanceOf(DeadlineExceededError);
    expect(performance.now() - t0).toBeLessThan(1500);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    expect(await errorOf(vad(worker, long, { signal: ac.signal }))).toBeInstanceOf(CancelledError);
    expect((await vad(worker, new Uint8Array(SPEECH_WAV))).outputs[0]?.shape).toEqual([2, 2]);
  }, 20_000);
});

describe('a worker host', () => {
  const [spec] = compileModelSpecs([{ name: 'vad', path: BUILTIN_SILERO_VAD, session: { intraOpThreads: 1, interOpThreads: 1 }, provider: 'cuda' }], process.cwd());
  const host = createWorkerHost({ ...compileInferenceSettings({}), workers: 1 });
  afterAll(async () => { await host.close(); });

  it('opens the session in the worker, logging the CUDA -> CPU fallback where CUDA is missing', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => { lines.push(s); } });
    const session = await host.openSession(spec as OnnxModelSpec, logger);
    if (session.provider === 'cpu') {
      expect(lines.join('')).toMatch(/CUDA execution provider unavailable for model vad \(.+\); falling back to CPU/);
    } else {
      expect(lines).toEqual([]);
    }
    expect(session.inputMetadata.map((m) => m.name)).toEqual(['input', 'state', 'sr']);

    // Arrays given away are moved to the worker (detached here); views over other buffers are copied.
    const input = giveAway(new Float32Array(576).fill(0.1));
    const backing = new ArrayBuffer(2 * 128 * 4 + 16);
    const state = new Float32Array(backing, 16, 256);
    const out = await session.run([
      { name: 'input', datatype: 'FP32', shape: [1, 576], data: input },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: state },
      { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array([16000n]) },
    ], ['output', 'stateN']);
    expect(input.byteLength).toBe(0);
    expect(state.byteLength).toBe(1024);
    expect(out.outputs.map((t) => t.shape)).toEqual([[1, 1], [2, 1, 128]]);
    expect(out.ms).toBeGreaterThan(0);

    // A run handed over ahead whose deadline passed before the worker reached it is skipped.
    const late = session.run([
      { name: 'input', datatype: 'FP32', shape: [1, 576], data: new Float32Array(576) },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Float32Array(256) },
      { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array([16000n]) },
    ], ['output'], Date.now() - 1);
    await expect(late).rejects.toBeInstanceOf(DeadlineExceededError);
    await session.release();
  }, 30_000);
});

describe('runs handed to a worker ahead (inference.runAhead)', () => {
  const host = createWorkerHost({ ...compileInferenceSettings({ runAhead: 4 }), workers: 1 });
  afterAll(async () => { await host.close(); });
  const feeds = (): Parameters<OrtModel['run']>[0] => [
    { name: 'input', datatype: 'FP32', shape: [1, 576], data: new Float32Array(576) },
    { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Float32Array(256) },
    { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array([16000n]) },
  ];
  const load = async (extra: Record<string, unknown>): Promise<OrtModel> => {
    const [spec] = compileModelSpecs([{ name: 'vad', path: BUILTIN_SILERO_VAD, session: { intraOpThreads: 1 }, maxQueue: 8, ...extra }], process.cwd());
    return loadOrtModel(spec as OnnxModelSpec, silentLogger(), {}, host);
  };

  it('come out of maxQueue: up to 1 + 4 runs go to the worker at once, and the model still holds 1 + 8', async () => {
    const m = await load({});
    const runs = Array.from({ length: 12 }, () => m.run(feeds(), ['output']).then(() => 'ok', (e: unknown) => (e as Error).name));
    expect(m.limiter.inFlight).toBe(5);
    expect(m.queued).toBe(4);
    expect(m.limiter.maxConcurrent).toBe(1);
    expect(await Promise.all(runs)).toEqual([...Array<string>(9).fill('ok'), ...Array<string>(3).fill('QueueFullError')]);
    await m.close();
  }, 30_000);

  it('none for an injected delay (it holds the slot as a slow model would)', async () => {
    const m = await load({ fault: { delayMs: 5 } });
    const runs = Array.from({ length: 3 }, () => m.run(feeds(), ['output']));
    expect(m.limiter.inFlight).toBe(1);
    await Promise.all(runs);
    await m.close();
  }, 30_000);
});
