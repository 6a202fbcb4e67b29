// RIFF/WAVE decoding for audio sent by clients: chunks in any order, odd-size padding,
// WAVE_FORMAT_EXTENSIBLE, integer PCM 8/16/24/32 and IEEE float 32/64, any channel count
// (downmixed to mono). Everything a client controls is bounded; bad input gets a precise error.
import { InvalidInputError } from '../errors.ts';
import { resample } from './resample.ts';

export const MAX_CHANNELS = 32;
export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 384_000;
export const MAX_DURATION_S = 30 * 60;

const FORMAT_PCM = 1;
const FORMAT_IEEE_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

export interface WavInfo {
  readonly sampleRate: number;
  readonly channels: number;
  readonly bitsPerSample: number;
  readonly float: boolean;
  readonly frames: number;
}

export interface DecodedAudio extends WavInfo {
  /** Mono samples in [-1, 1] at `sampleRate`. */
  readonly samples: Float32Array;
}

function fail(what: string): never {
  throw new InvalidInputError(`audio: ${what}`);
}

interface Format {
  readonly format: number;
  readonly channels: number;
  readonly sampleRate: number;
  readonly blockAlign: number;
  readonly bitsPerSample: number;
}

function readFormat(view: DataView, off: number, size: number): Format {
  if (size < 16) fail(`'fmt ' chunk is ${size} bytes; expected at least 16`);
  let format = view.getUint16(off, true);
  const channels = view.getUint16(off + 2, true);
  const sampleRate = view.getUint32(off + 4, true);
  const blockAlign = view.getUint16(off + 12, true);
  const bitsPerSample = view.getUint16(off + 14, true);
  if (format === FORMAT_EXTENSIBLE) {
    if (size < 40) fail(`WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is ${size} bytes; expected 40`);
    // The sub-format GUID starts with the plain format code.
    format = view.getUint16(off + 24, true);
  }
  return { format, channels, sampleRate, blockAlign, bitsPerSample };
}

/** Parse the container and decode to mono float samples at the file's own rate. */
export function decodeWav(bytes: Uint8Array): DecodedAudio {
  if (bytes.byteLength < 12) fail(`${bytes.byteLength} bytes is too short for a WAV file (need a 12-byte RIFF header)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o: number): string => String.fromCharCode(view.getUint8(o), view.getUint8(o + 1), view.getUint8(o + 2), view.getUint8(o + 3));
  if (tag(0) !== 'RIFF') fail(`not a RIFF file (starts with ${JSON.stringify(tag(0))}; expected "RIFF")`);
  if (tag(8) !== 'WAVE') fail(`RIFF form type is ${JSON.stringify(tag(8))}; expected "WAVE"`);

  let fmt: Format | undefined;
  let data: { off: number; size: number } | undefined;
  let off = 12;
  while (off + 8 <= bytes.byteLength && (fmt === undefined || data === undefined)) {
    const id = tag(off);
    let size = view.getUint32(off + 4, true);
    const body = off + 8;
    const remaining = bytes.byteLength - body;
    if (size > remaining) {
      // Streaming writers leave the data size unset (0xFFFFFFFF): take the rest of the file.
      if (id === 'data' && size === 0xffffffff) size = remaining;
      else fail(`chunk '${id}' at byte ${off} declares ${size} bytes but only ${remaining} remain (truncated file)`);
    }
    if (id === 'fmt ') fmt = readFormat(view, body, size);
    else if (id === 'data') data = { off: body, size };
    off = body + size + (size % 2); // chunks are padded to even sizes
  }
  if (fmt === undefined) fail(`no 'fmt ' chunk found`);
  if (data === undefined) fail(`no 'data' chunk found`);

  const { format, channels, sampleRate, blockAlign, bitsPerSample } = fmt;
  const isFloat = format === FORMAT_IEEE_FLOAT;
  if (format !== FORMAT_PCM && !isFloat) fail(`unsupported format code ${format}; expected PCM (1) or IEEE float (3)`);
  if (channels < 1 || channels > MAX_CHANNELS) fail(`${channels} channels; expected 1..${MAX_CHANNELS}`);
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) fail(`sample rate ${sampleRate} Hz; expected ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE}`);
  const okBits = isFloat ? [32, 64] : [8, 16, 24, 32];
  if (!okBits.includes(bitsPerSample)) fail(`${bitsPerSample}-bit ${isFloat ? 'float' : 'PCM'} is unsupported; expected ${okBits.join('/')}`);
  const bytesPerSample = bitsPerSample / 8;
  if (blockAlign !== channels * bytesPerSample) fail(`block align ${blockAlign}; expected ${channels * bytesPerSample} (${channels} channels x ${bytesPerSample} bytes)`);

  const frames = Math.floor(data.size / blockAlign);
  if (frames / sampleRate > MAX_DURATION_S) fail(`${(frames / sampleRate).toFixed(1)} s of audio; expected at most ${MAX_DURATION_S} s`);
  const samples = new Float32Array(frames);
  const read = sampleReader(view, isFloat, bitsPerSample);
  const scale = 1 / channels;
  let p = data.off;
  for (let f = 0; f < frames; f++) {
    let acc = 0;
    for (let c = 0; c < channels; c++, p += bytesPerSample) acc += read(p);
    samples[f] = acc * scale;
  }
  if (isFloat) {
    const bad = samples.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) fail(`frame ${bad} holds a non-finite float sample; expected finite values in [-1, 1]`);
  }
  return { sampleRate, channels, bitsPerSample, float: isFloat, frames, samples };
}

function sampleReader(view: DataView, isFloat: boolean, bits: number): (p: number) => number {
  if (isFloat) return bits === 32 ? (p) => view.getFloat32(p, true) : (p) => view.getFloat64(p, true);
  switch (bits) {
    case 8: return (p) => (view.getUint8(p) - 128) / 128; // 8-bit WAV is unsigned
    case 16: return (p) => view.getInt16(p, true) / 32768;
    case 24: return (p) => ((view.getUint8(p) | (view.getUint8(p + 1) << 8) | (view.getInt8(p + 2) << 16)) / 8388608);
    default: return (p) => view.getInt32(p, true) / 2147483648;
  }
}

/** Decode a WAV file to mono float samples at `targetRate` (default 16 kHz). */
export function decodeWavMono(bytes: Uint8Array, targetRate = 16_000): Float32Array {
  const audio = decodeWav(bytes);
  return resample(audio.samples, audio.sampleRate, targetRate);
}
