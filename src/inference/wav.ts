// RIFF/WAVE decoding for audio sent by clients: chunks in any order, odd-size padding,
// WAVE_FORMAT_EXTENSIBLE, integer PCM 8/16/24/32 and IEEE float 32/64, any channel count
// (downmixed to mono). Everything a client controls is bounded; bad input gets a precise error.
// The limits (inference.audio.*) are checked from the header, before any sample is decoded. The
// decoders are generators that yield between chunks of bounded work, so a caller can check a
// deadline or cancellation between them and let other work in (src/inference/worker/ does).
import { InvalidInputError } from '../errors.ts';
import { AUDIO_LIMIT_KEYS, DEFAULT_INFERENCE_SETTINGS, type AudioLimits } from './config.ts';
import { resampleCost, resampleSteps } from './resample.ts';

export const MIN_SAMPLE_RATE = 1000;
/** The default limits (inference.audio.*; defined in config.ts), under their former names. */
export const MAX_CHANNELS = DEFAULT_INFERENCE_SETTINGS.audio.maxChannels;
export const MAX_SAMPLE_RATE = DEFAULT_INFERENCE_SETTINGS.audio.maxSampleRate;
export const MAX_DURATION_S = DEFAULT_INFERENCE_SETTINGS.audio.maxDurationS;
/** Frames decoded between two yields (a few ms of work at 32 channels). */
const DECODE_CHUNK_SAMPLES = 1 << 18;

/** Work that yields between chunks; `runSteps` drives it to the end. */
export type Steps<T> = Generator<void, T, void>;

/** Run steps to completion; `check` runs between chunks and may throw (deadline, cancellation). */
export function runSteps<T>(steps: Steps<T>, check?: () => void): T {
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
    check?.();
  }
}

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
export function decodeWav(bytes: Uint8Array, limits: AudioLimits = DEFAULT_INFERENCE_SETTINGS.audio): DecodedAudio {
  return runSteps(decodeWavSteps(bytes, limits));
}

/** What the header says, checked against the limits (InvalidInputError naming the limit). */
export interface WavHeader extends WavInfo {
  /** Byte offset of the first sample. */
  readonly dataOffset: number;
  readonly bytesPerSample: number;
}

/** Parse and check the RIFF header and 'fmt ' chunk; decodes no sample. */
export function readWavHeader(bytes: Uint8Array, limits: AudioLimits): WavHeader {
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
  const { maxChannels, maxSampleRate, maxDurationS } = limits;
  if (channels < 1 || channels > maxChannels) fail(`${channels} channels; expected 1..${maxChannels} (limit ${AUDIO_LIMIT_KEYS.maxChannels})`);
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > maxSampleRate) {
    fail(`sample rate ${sampleRate} Hz; expected ${MIN_SAMPLE_RATE}..${maxSampleRate}${sampleRate > maxSampleRate ? ` (limit ${AUDIO_LIMIT_KEYS.maxSampleRate})` : ''}`);
  }
  const okBits = isFloat ? [32, 64] : [8, 16, 24, 32];
  if (!okBits.includes(bitsPerSample)) fail(`${bitsPerSample}-bit ${isFloat ? 'float' : 'PCM'} is unsupported; expected ${okBits.join('/')}`);
  const bytesPerSample = bitsPerSample / 8;
  if (blockAlign !== channels * bytesPerSample) fail(`block align ${blockAlign}; expected ${channels * bytesPerSample} (${channels} channels x ${bytesPerSample} bytes)`);

  const frames = Math.floor(data.size / blockAlign);
  if (frames / sampleRate > maxDurationS) {
    fail(`${(frames / sampleRate).toFixed(1)} s of audio; expected at most ${maxDurationS} s (limit ${AUDIO_LIMIT_KEYS.maxDurationS})`);
  }
  return { sampleRate, channels, bitsPerSample, float: isFloat, frames, dataOffset: data.off, bytesPerSample };
}

export function* decodeWavSteps(bytes: Uint8Array, limits: AudioLimits): Steps<DecodedAudio> {
  const { sampleRate, channels, bitsPerSample, float: isFloat, frames, dataOffset, bytesPerSample } = readWavHeader(bytes, limits);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const samples = new Float32Array(frames);
  const read = sampleReader(view, isFloat, bitsPerSample);
  const scale = 1 / channels;
  const chunkFrames = Math.max(1, Math.floor(DECODE_CHUNK_SAMPLES / channels));
  let p = dataOffset;
  for (let f0 = 0; f0 < frames; f0 += chunkFrames) {
    if (f0 > 0) yield;
    const end = Math.min(frames, f0 + chunkFrames);
    for (let f = f0; f < end; f++) {
      let acc = 0;
      for (let c = 0; c < channels; c++, p += bytesPerSample) acc += read(p);
      samples[f] = acc * scale;
    }
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
export function decodeWavMono(bytes: Uint8Array, targetRate = 16_000, limits: AudioLimits = DEFAULT_INFERENCE_SETTINGS.audio): Float32Array {
  return runSteps(decodeWavMonoSteps(bytes, targetRate, limits));
}

/**
 * About how many multiply-adds decoding (and resampling to `targetRate`) takes, from the header
 * alone; throws as readWavHeader does. Lets a caller keep small inputs where it is.
 */
export function decodeWavCost(bytes: Uint8Array, targetRate: number, limits: AudioLimits): number {
  const h = readWavHeader(bytes, limits);
  return h.frames * h.channels + resampleCost(h.frames, h.sampleRate, targetRate);
}

export function* decodeWavMonoSteps(bytes: Uint8Array, targetRate: number, limits: AudioLimits): Steps<Float32Array> {
  const audio = yield* decodeWavSteps(bytes, limits);
  yield;
  return yield* resampleSteps(audio.samples, audio.sampleRate, targetRate);
}
