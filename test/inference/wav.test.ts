import { readFileSync } from 'node:fs';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.ts';
import { resample } from '../../src/inference/resample.ts';
import { decodeWav, decodeWavMono } from '../../src/inference/wav.ts';
import { buildWav, sine } from './wav-builder.ts';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');
export function fixture(name: string): Uint8Array {
  const b = readFileSync(path.join(FIX, name));
  return name.endsWith('.br') ? brotliDecompressSync(b) : b;
}

/** Amplitude of `freq` in `x` (single-bin DFT), ignoring `skip` samples at each edge. */
function toneAmplitude(x: Float32Array, freq: number, rate: number, skip = 200): number {
  let re = 0, im = 0, n = 0;
  for (let i = skip; i < x.length - skip; i++) {
    const ph = (2 * Math.PI * freq * i) / rate;
    re += (x[i] ?? 0) * Math.cos(ph);
    im += (x[i] ?? 0) * Math.sin(ph);
    n++;
  }
  return (2 * Math.hypot(re, im)) / n;
}
function rms(x: Float32Array, skip = 200): number {
  let s = 0;
  for (let i = skip; i < x.length - skip; i++) s += (x[i] ?? 0) ** 2;
  return Math.sqrt(s / (x.length - 2 * skip));
}

describe('decodeWav on the committed fixtures', () => {
  const speech = JSON.parse(readFileSync(path.join(FIX, 'speech.json'), 'utf8')) as { durationS: number };
  it.each([
    ['speech-22k-mono.wav', 22050, 1, 16, false],
    ['speech-48k-stereo-f32.wav.br', 48000, 2, 32, true],
    ['speech-8k-mono.wav', 8000, 1, 16, false],
  ])('%s', (name, rate, channels, bits, float) => {
    const a = decodeWav(fixture(name));
    expect([a.sampleRate, a.channels, a.bitsPerSample, a.float]).toEqual([rate, channels, bits, float]);
    expect(a.frames / a.sampleRate).toBeCloseTo(speech.durationS, 1);
    const peak = a.samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(peak).toBeGreaterThan(0.05);
    expect(peak).toBeLessThanOrEqual(1);
    const mono16 = decodeWavMono(fixture(name));
    expect(mono16.length / 16000).toBeCloseTo(speech.durationS, 1);
  });
  it('silence-16k.wav is quiet', () => {
    const a = decodeWav(fixture('silence-16k.wav'));
    expect(a.sampleRate).toBe(16000);
    expect(a.frames).toBe(48000);
    expect(rms(a.samples)).toBeLessThan(0.001);
  });
});

describe('decodeWav formats', () => {
  const tone = sine(440, 16000, 0.1, 0.5);
  it.each([
    [8, false], [16, false], [24, false], [32, false], [32, true], [64, true],
  ])('%i-bit %s, extensible and plain, with extra odd-sized chunks', (bits, float) => {
    for (const extensible of [false, true]) {
      const wav = buildWav({
        sampleRate: 16000, channels: 1, bits, float, extensible, samples: tone,
        before: [{ id: 'JUNK', body: new Uint8Array(3) }], between: [{ id: 'LIST', body: new Uint8Array(7) }],
      });
      const a = decodeWav(wav);
      expect(a.frames).toBe(tone.length);
      const tol = bits === 8 ? 0.01 : 1e-4;
      for (let i = 0; i < tone.length; i += 97) expect(Math.abs((a.samples[i] ?? 0) - (tone[i] ?? 0))).toBeLessThan(tol);
    }
  });
  it('downmixes channels to mono', () => {
    const inter = new Float32Array([0.5, -0.5, 0.2, 0.4, 1, 0]);
    const a = decodeWav(buildWav({ sampleRate: 8000, channels: 2, bits: 16, samples: inter }));
    expect(Array.from(a.samples).map((v) => Math.round(v * 1000) / 1000)).toEqual([0, 0.3, 0.5]);
  });
});

describe('decodeWav rejects bad input precisely', () => {
  const good = buildWav({ sampleRate: 16000, channels: 1, bits: 16, samples: new Float32Array(100) });
  const bad = (bytes: Uint8Array): string => {
    try { decodeWav(bytes); } catch (e) { expect(e).toBeInstanceOf(InvalidInputError); return (e as Error).message; }
    throw new Error('expected InvalidInputError');
  };
  const patched = (off: number, write: (d: DataView) => void): Uint8Array => {
    const c = good.slice();
    write(new DataView(c.buffer, off));
    return c;
  };
  it('garbage and truncation', () => {
    expect(bad(new Uint8Array(5))).toMatch(/too short/);
    expect(bad(new TextEncoder().encode('ID3\u0004 this is an mp3, not a wav'))).toMatch(/not a RIFF file \(starts with "ID3/);
    expect(bad(patched(8, (d) => d.setUint8(0, 0x41)))).toMatch(/form type is "AAVE"; expected "WAVE"/);
    expect(bad(good.subarray(0, good.length - 10))).toMatch(/chunk 'data' at byte 36 declares 200 bytes but only 190 remain \(truncated file\)/);
    expect(bad(good.subarray(0, 36))).toMatch(/no 'data' chunk found/);
  });
  it('unsupported formats', () => {
    expect(bad(patched(20, (d) => d.setUint16(0, 2, true)))).toMatch(/unsupported format code 2; expected PCM \(1\) or IEEE float \(3\)/);
    expect(bad(patched(22, (d) => d.setUint16(0, 0, true)))).toMatch(/0 channels; expected 1\.\.32/);
    expect(bad(patched(24, (d) => d.setUint32(0, 500, true)))).toMatch(/sample rate 500 Hz/);
    expect(bad(patched(34, (d) => d.setUint16(0, 12, true)))).toMatch(/12-bit PCM is unsupported; expected 8\/16\/24\/32/);
    expect(bad(patched(32, (d) => d.setUint16(0, 4, true)))).toMatch(/block align 4; expected 2/);
    expect(bad(buildWav({ sampleRate: 8000, channels: 1, bits: 32, float: true, samples: [0, Number.NaN] }))).toMatch(/frame 1 holds a non-finite/);
  });
  it('bounds the duration', () => {
    // 16 kHz header with a data size claiming 31 minutes, streaming-style (0xFFFFFFFF) so no real bytes are needed.
    const huge = new Uint8Array(44 + 31 * 60 * 1000 * 2);
    huge.set(good.subarray(0, 44));
    const d = new DataView(huge.buffer);
    d.setUint32(24, 1000, true); d.setUint32(28, 2000, true); d.setUint32(40, 0xffffffff, true);
    expect(bad(huge)).toMatch(/1860\.0 s of audio; expected at most 1800 s/);
  });
});

describe('resample', () => {
  it('keeps a 1 kHz tone at 48 kHz -> 16 kHz (frequency and amplitude)', () => {
    const out = resample(sine(1000, 48000, 1, 0.5), 48000, 16000);
    expect(out.length).toBe(16000);
    expect(toneAmplitude(out, 1000, 16000)).toBeCloseTo(0.5, 2);
    expect(toneAmplitude(out, 1100, 16000)).toBeLessThan(0.01);
    expect(rms(out)).toBeCloseTo(0.5 / Math.SQRT2, 2);
  });
  it('attenuates a 12 kHz tone (above the 8 kHz output Nyquist) instead of aliasing it to 4 kHz', () => {
    const out = resample(sine(12000, 48000, 1, 0.5), 48000, 16000);
    expect(rms(out)).toBeLessThan(0.5 * 0.001); // > 60 dB down
  });
  it('handles non-integer ratios (22.05 kHz and 44.1 kHz) and upsampling (8 kHz)', () => {
    for (const rate of [22050, 44100, 8000]) {
      const out = resample(sine(1000, rate, 1, 0.5), rate, 16000);
      expect(out.length).toBe(16000);
      expect(toneAmplitude(out, 1000, 16000)).toBeCloseTo(0.5, 2);
    }
    const aliased = resample(sine(10000, 22050, 1, 0.5), 22050, 16000);
    expect(rms(aliased)).toBeLessThan(0.5 * 0.001);
  });
});
