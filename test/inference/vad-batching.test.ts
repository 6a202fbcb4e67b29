// speech.vad step batching on the real Silero VAD v5 model: concurrent requests of different
// audio (and lengths) stepped together give exactly the segments each gives alone, batches
// really merge requests and respect maxBatchSize, a request that leaves (abort, deadline) or a
// failed step touches no one else, raw requests still get the model, and the group's queue is
// bounded.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, DeadlineExceededError, InferenceFailedError, QueueFullError } from '../../src/errors.ts';
import { createVadStepper, stepBatch, type VadStepper } from '../../src/inference/adapters/silero-vad.ts';
import { createVadStepGroup } from '../../src/inference/adapters/vad-step-group.ts';
import { BUILTIN_SILERO_VAD, compileModelSpecs, createLocalInference, decodeWavMono, defaultModelSpecs } from '../../src/inference/index.ts';
import type { LocalInference, Tensor } from '../../src/inference/index.ts';
import { loadOrtModel, type OrtModel } from '../../src/inference/ort-model.ts';
import { silentLogger } from '../../src/logger.ts';
import { recordingInference } from './recording-inference.ts';
import { buildWav } from './wav-builder.ts';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');
function fixture(name: string): Uint8Array {
  const b = readFileSync(path.join(FIX, name));
  return name.endsWith('.br') ? brotliDecompressSync(b) : b;
}
// No smoothing: every window's decision shows in the segments, so would any change in a probability.
const RAW_SEGMENTS = { threshold: 0.5, minSpeechMs: 0, minSilenceMs: 0, speechPadMs: 0 };
const session = { intraOpThreads: 1, interOpThreads: 1 };

// Different audio and different lengths, so requests join and leave the group at different steps.
const speech16k = decodeWavMono(fixture('speech-22k-mono.wav'));
const AUDIO: Record<string, Uint8Array> = {
  'speech-22k': fixture('speech-22k-mono.wav'),
  'speech-8k': fixture('speech-8k-mono.wav'),
  'speech-48k-f32': fixture('speech-48k-stereo-f32.wav.br'),
  silence: fixture('silence-16k.wav'),
  // The first sentence only (2.5 s at 16 kHz), then the second sentence alone.
  'first-sentence': buildWav({ sampleRate: 16_000, channels: 1, bits: 16, samples: speech16k.subarray(0, 40_000) }),
  'second-sentence': buildWav({ sampleRate: 16_000, channels: 1, bits: 16, samples: speech16k.subarray(50_000) }),
};
const NAMES = Object.keys(AUDIO);
// 46 s of speech (1430 windows): far too long to finish within a short deadline.
const LONG = buildWav({ sampleRate: 16_000, channels: 1, bits: 16, samples: Float32Array.from({ length: speech16k.length * 8 }, (_, i) => speech16k[i % speech16k.length] ?? 0) });

let inf: LocalInference;
let sizesOf: (model: string) => number[];
const reference = new Map<string, number[]>();
beforeAll(async () => {
  ({ inf, sizesOf } = await recordingInference([
    { name: 'silero-vad', path: BUILTIN_SILERO_VAD, session },
    { name: 'vad', adapter: { type: 'silero-vad', model: 'silero-vad', ...RAW_SEGMENTS } },
    { name: 'vad-batched', adapter: { type: 'silero-vad', model: 'silero-vad', ...RAW_SEGMENTS }, batching: { maxBatchSize: 4, maxQueueDelayUs: 20_000 } },
    { name: 'vad-smoothed-batched', adapter: { type: 'silero-vad', model: 'silero-vad' }, batching: { maxBatchSize: 64, maxQueueDelayUs: 2_000 } },
  ], process.cwd()));
  // Sequential, unbatched: the answers batching must reproduce.
  for (const n of NAMES) reference.set(n, await vad('vad', n));
});
afterAll(async () => { await inf.close(); });

async function vad(model: string, name: string, opts: { deadline?: number; signal?: AbortSignal } = {}): Promise<number[]> {
  const wav = name === 'long' ? LONG : AUDIO[name] as Uint8Array;
  const res = await inf.infer({ model, id: name, outputs: [], parameters: {}, inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [wav] }], ...opts });
  return Array.from(res.outputs[0]?.data as Float32Array);
}

describe('step batching', () => {
  it('gives every concurrent request exactly its unbatched segments', async () => {
    // Guard: the audio really differs, or equal answers would prove nothing.
    expect(new Set(NAMES.map((n) => JSON.stringify(reference.get(n)))).size).toBeGreaterThanOrEqual(4);
    expect(reference.get('silence')).toEqual([]);
    const before = sizesOf('vad-batched').length;
    const order = [...NAMES, ...NAMES.slice().reverse()];
    const got = await Promise.all(order.map((n) => vad('vad-batched', n)));
    got.forEach((segs, i) => expect(segs, order[i]).toEqual(reference.get(order[i] as string)));
    const sizes = sizesOf('vad-batched').slice(before);
    expect(Math.max(...sizes)).toBe(4);
    expect(sizes.every((s) => s >= 1 && s <= 4)).toBe(true);
    // Fewer ORT calls than one per request per window: requests really shared steps.
    const stepsAlone = order.reduce((n, name) => n + Math.ceil(decodeWavMono(AUDIO[name] as Uint8Array, 16_000).length / 512), 0);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(stepsAlone);
    expect(sizes.length).toBeLessThan(stepsAlone / 2);
    const stats = inf.stats('vad-batched');
    expect(stats?.batching?.largest).toBe(4);
    expect(stats?.batching?.batches).toBe(sizes.length + before);
    expect(stats?.queued).toBe(0);
    expect(inf.stats('vad')?.batching).toBeUndefined();
  });

  it('matches with the default segmenter settings too, through the capability name', async () => {
    const smoothed = await inf.infer({ model: 'vad-smoothed-batched', id: 's', outputs: [], parameters: {}, inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [AUDIO['speech-22k'] as Uint8Array] }] });
    const alone = Array.from(smoothed.outputs[0]?.data as Float32Array);
    expect(alone.length).toBe(4); // two sentences
    const before = sizesOf('vad-smoothed-batched').length;
    const got = await Promise.all(Array.from({ length: 12 }, (_, i) => vad('vad-smoothed-batched', i % 2 === 0 ? 'speech-22k' : 'silence')));
    got.forEach((segs, i) => expect(segs).toEqual(i % 2 === 0 ? alone : []));
    expect(Math.max(...sizesOf('vad-smoothed-batched').slice(before))).toBeGreaterThan(1);
  });

  it('lets a cancelled or late request leave while the others finish correctly', async () => {
    const ac = new AbortController();
    const before = sizesOf('vad-batched').length;
    // Abort once the group has stepped a while with the request in it.
    const watcher = setInterval(() => { if (sizesOf('vad-batched').length - before >= 20) ac.abort(); }, 2);
    try {
      const results = await Promise.allSettled([
        vad('vad-batched', 'speech-22k', { signal: ac.signal }),
        vad('vad-batched', 'speech-8k'),
        vad('vad-batched', 'long', { deadline: Date.now() + 150 }),
        vad('vad-batched', 'first-sentence'),
      ]);
      expect(results[0]?.status === 'rejected' && results[0].reason).toBeInstanceOf(CancelledError);
      expect(results[2]?.status === 'rejected' && results[2].reason).toBeInstanceOf(DeadlineExceededError);
      expect(results[1]?.status === 'fulfilled' && results[1].value).toEqual(reference.get('speech-8k'));
      expect(results[3]?.status === 'fulfilled' && results[3].value).toEqual(reference.get('first-sentence'));
    } finally {
      clearInterval(watcher);
    }
    // The group shrank once they left: later steps carried fewer requests than the first ones.
    // (On a busy machine the four may join a step or two apart, so look at the largest step.)
    const sizes = sizesOf('vad-batched').slice(before);
    expect(Math.max(...sizes)).toBeGreaterThanOrEqual(3);
    expect(sizes.at(-1)).toBe(1);
  });

  it('yields the slot to raw requests between steps instead of starving them', async () => {
    const finished: string[] = [];
    const rawInputs: Tensor[] = [
      { name: 'input', datatype: 'FP32', shape: [1, 576], data: new Float32Array(576) },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Float32Array(256) },
      { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array([16000n]) },
    ];
    const before = sizesOf('vad-batched').length;
    const long = Promise.all(['speech-22k', 'speech-8k'].map((n) => vad('vad-batched', n).then((s) => { finished.push(n); return s; })));
    // Wait until the group holds the model's only slot, then ask the raw model directly.
    const until = Date.now() + 10_000;
    while (sizesOf('vad-batched').length - before < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
    await inf.infer({ model: 'silero-vad', id: 'raw', inputs: rawInputs, outputs: [], parameters: {} });
    finished.push('raw');
    const segs = await long;
    expect(finished[0]).toBe('raw');
    expect(segs).toEqual([reference.get('speech-22k'), reference.get('speech-8k')]);
  });
});

describe('the embedded default config', () => {
  it('steps concurrent speech.vad requests together, with the same answers', async () => {
    const seen: number[] = [];
    const def = await createLocalInference({ logger: silentLogger(), models: defaultModelSpecs(), onBatch: (model, size) => { if (model === 'silero-vad-segments') seen.push(size); } });
    try {
      const ask = (name: string): Promise<Tensor | undefined> => def.infer({
        model: 'speech.vad', id: name, outputs: [], parameters: {}, inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [AUDIO[name] as Uint8Array] }],
      }).then((r) => r.outputs[0]);
      const alone = await ask('speech-8k');
      const got = await Promise.all(['speech-8k', 'speech-8k', 'speech-8k', 'speech-8k'].map(ask));
      for (const t of got) expect(Array.from(t?.data as Float32Array)).toEqual(Array.from(alone?.data as Float32Array));
      expect(Math.max(...seen)).toBeGreaterThan(1);
      expect(def.stats('silero-vad-segments')?.batching?.maxBatchSize).toBe(64);
    } finally {
      await def.close();
    }
  });
});

describe('the step group', () => {
  let raw: OrtModel;
  beforeAll(async () => {
    const spec = compileModelSpecs([{ name: 'silero-raw', path: BUILTIN_SILERO_VAD, session, maxQueue: 2 }], process.cwd())[0];
    if (spec?.kind !== 'onnx') throw new Error('expected an onnx spec');
    raw = await loadOrtModel(spec, silentLogger());
  });
  afterAll(async () => { await raw.close(); });

  const stepper = (name: string): VadStepper => createVadStepper(decodeWavMono(AUDIO[name] as Uint8Array, 16_000), RAW_SEGMENTS);
  const noFault = { delayMs: 0, errorRate: 0 };

  it('fails exactly the requests in a failed step; later ones run', async () => {
    const poison = stepper('first-sentence');
    const group = createVadStepGroup<VadStepper>({
      name: 'g', raw, batching: { maxBatchSize: 8, maxQueueDelayUs: 20_000 }, maxQueue: 8, fault: noFault,
      step: (m, steppers) => (steppers.includes(poison) ? Promise.reject(new InferenceFailedError('step failed')) : stepBatch(m, steppers)),
    });
    const withPoison = stepper('speech-8k');
    const [a, b] = await Promise.allSettled([group.run(poison, {}), group.run(withPoison, {})]);
    expect(a?.status === 'rejected' && a.reason).toBeInstanceOf(InferenceFailedError);
    expect(b?.status === 'rejected' && b.reason).toBeInstanceOf(InferenceFailedError);
    const later = stepper('speech-8k');
    await group.run(later, {});
    expect(Array.from(later.segments())).toEqual(reference.get('speech-8k'));
    expect(group.active + group.waiting).toBe(0);
    // The loop lets the slot go once its last request is done.
    const until = Date.now() + 5_000;
    while (raw.limiter.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
    expect(raw.limiter.inFlight).toBe(0);
  });

  it('refuses requests beyond its queue with QueueFullError', async () => {
    const group = createVadStepGroup<VadStepper>({
      name: 'g', raw, batching: { maxBatchSize: 8, maxQueueDelayUs: 50_000 }, maxQueue: 2, fault: noFault, step: stepBatch,
    });
    const [a, b, c] = await Promise.allSettled([group.run(stepper('silence'), {}), group.run(stepper('silence'), {}), group.run(stepper('silence'), {})]);
    expect(a?.status).toBe('fulfilled');
    expect(b?.status).toBe('fulfilled');
    expect(c?.status === 'rejected' && c.reason).toBeInstanceOf(QueueFullError);
  });
});
