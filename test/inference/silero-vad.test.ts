// The speech.vad capability on the real Silero VAD v5 model, through createLocalInference:
// segments land where the fixtures' speech really is, every input format agrees, silence
// yields nothing, and the adapter carries the recurrent state and context across chunks
// exactly as silero's own OnnxWrapper does.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.ts';
import { createVadSegmenter } from '../../src/inference/adapters/vad-segmenter.ts';
import { BUILTIN_SILERO_VAD, compileModelSpecs, createLocalInference, decodeWavMono } from '../../src/inference/index.ts';
import type { LocalInference, Tensor } from '../../src/inference/index.ts';
import { silentLogger } from '../../src/logger.ts';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');
function fixture(name: string): Uint8Array {
  const b = readFileSync(path.join(FIX, name));
  return name.endsWith('.br') ? brotliDecompressSync(b) : b;
}
const TRUTH = JSON.parse(readFileSync(path.join(FIX, 'speech.json'), 'utf8')) as { durationS: number; speech: [number, number][] };
const SPEECH_FIXTURES = ['speech-22k-mono.wav', 'speech-8k-mono.wav', 'speech-48k-stereo-f32.wav.br'] as const;

// Segmenter settings with no smoothing at all: every window's decision shows in the segments,
// so any change in the per-window probabilities shows too.
const RAW_SEGMENTS = { threshold: 0.5, minSpeechMs: 0, minSilenceMs: 0, speechPadMs: 0 };

let inf: LocalInference;
beforeAll(async () => {
  inf = await createLocalInference({
    logger: silentLogger(),
    models: compileModelSpecs({
      models: [
        { name: 'silero-vad', path: BUILTIN_SILERO_VAD, session: { intraOpThreads: 1, interOpThreads: 1 } },
        { name: 'vad', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'] },
        { name: 'vad-unsmoothed', adapter: { type: 'silero-vad', model: 'silero-vad', ...RAW_SEGMENTS } },
      ],
    }, process.cwd()),
  });
});
afterAll(async () => { await inf.close(); });

/** Segments in seconds as [start, end] pairs, after checking the output's form. */
async function vad(model: string, wav: Uint8Array): Promise<[number, number][]> {
  const res = await inf.infer({
    model, id: 't', outputs: [], parameters: {},
    inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [wav] }],
  });
  const [out] = res.outputs;
  expect(res.outputs).toHaveLength(1);
  expect(out?.name).toBe('segments');
  expect(out?.datatype).toBe('FP32');
  const data = out?.data as Float32Array;
  expect(out?.shape).toEqual([data.length / 2, 2]);
  return Array.from({ length: data.length / 2 }, (_, i) => [data[2 * i] ?? NaN, data[2 * i + 1] ?? NaN]);
}

function expectClose(actual: [number, number][], expected: [number, number][], tolerance: number): void {
  expect(actual).toHaveLength(expected.length);
  actual.flat().forEach((v, i) => expect(Math.abs(v - (expected.flat()[i] ?? NaN)), `boundary ${i}: ${v} vs ${expected.flat()[i]}`).toBeLessThanOrEqual(tolerance));
}

describe('speech.vad on the fixtures', () => {
  it.each(SPEECH_FIXTURES)('%s: one segment per sentence, where the speech is', async (name) => {
    const segments = await vad('speech.vad', fixture(name));
    expectClose(segments, TRUTH.speech, 0.3);
    for (const [s, e] of segments) {
      expect(e).toBeGreaterThan(s);
      expect(e).toBeLessThanOrEqual(TRUTH.durationS + 1e-3);
    }
  });

  it('the 48 kHz stereo float and 8 kHz versions agree with the 22 kHz one', async () => {
    const reference = await vad('speech.vad', fixture('speech-22k-mono.wav'));
    expectClose(await vad('speech.vad', fixture('speech-48k-stereo-f32.wav.br')), reference, 0.1);
    expectClose(await vad('speech.vad', fixture('speech-8k-mono.wav')), reference, 0.1);
  });

  it('finds no speech in near-silence', async () => {
    expect(await vad('speech.vad', fixture('silence-16k.wav'))).toEqual([]);
  });

  it('refuses a file that is not a WAV with a message naming the input', async () => {
    const garbage = new TextEncoder().encode('this is not a RIFF/WAVE file at all');
    await expect(vad('speech.vad', garbage)).rejects.toThrow(InvalidInputError);
    await expect(vad('speech.vad', garbage)).rejects.toThrow(/audio: not a RIFF file/);
  });
});

describe('recurrent state and context', () => {
  type Mode = 'carry' | 'reset-state' | 'no-context';
  const audio = decodeWavMono(fixture('speech-22k-mono.wav'));

  /** Per-window speech probabilities from the raw model, stepping the audio ourselves. */
  async function probabilities(mode: Mode): Promise<number[]> {
    let state: Float32Array = new Float32Array(2 * 128);
    let context = new Float32Array(64);
    const probs: number[] = [];
    for (let p = 0; p < audio.length; p += 512) {
      const window = new Float32Array(64 + 512);
      if (mode !== 'no-context') window.set(context, 0);
      window.set(audio.subarray(p, p + 512), 64); // the last chunk stays zero-padded
      const inputs: Tensor[] = [
        { name: 'input', datatype: 'FP32', shape: [1, 576], data: window },
        { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: mode === 'reset-state' ? new Float32Array(256) : state },
        { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array([16000n]) },
      ];
      const res = await inf.infer({ model: 'silero-vad', id: 'ref', inputs, outputs: ['output', 'stateN'], parameters: {} });
      probs.push((res.outputs[0]?.data as Float32Array)[0] ?? NaN);
      state = res.outputs[1]?.data as Float32Array;
      context = window.slice(512);
    }
    return probs;
  }

  function segmentsOf(probs: readonly number[]): [number, number][] {
    const seg = createVadSegmenter({ sampleRate: 16000, windowSamples: 512, ...RAW_SEGMENTS });
    for (const p of probs) seg.push(p);
    return seg.finish(audio.length).map((s) => [s.start / 16000, s.end / 16000]);
  }

  it('matches a reference that carries state and context, and no reference that drops either', async () => {
    const carried = await probabilities('carry');
    const reset = await probabilities('reset-state');
    const noContext = await probabilities('no-context');
    // The wrong implementations are really different, or this test could not fail.
    const maxDiff = (a: number[], b: number[]): number => Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? NaN))));
    expect(maxDiff(carried, reset)).toBeGreaterThan(0.2);
    expect(maxDiff(carried, noContext)).toBeGreaterThan(0.05);
    expect(segmentsOf(reset)).not.toEqual(segmentsOf(carried));
    expect(segmentsOf(noContext)).not.toEqual(segmentsOf(carried));

    const adapter = await vad('vad-unsmoothed', fixture('speech-22k-mono.wav'));
    expect(adapter.length).toBeGreaterThan(0);
    // Same model, same inputs, same order: equal up to FP32 rounding of the seconds.
    expectClose(adapter, segmentsOf(carried), 1e-4);
  });

  it('gives the same answer for the same audio run twice (no state leaks between requests)', async () => {
    const wav = fixture('speech-22k-mono.wav');
    const first = await vad('vad-unsmoothed', wav);
    await vad('vad-unsmoothed', fixture('speech-8k-mono.wav'));
    expect(await vad('vad-unsmoothed', wav)).toEqual(first);
  });
});
