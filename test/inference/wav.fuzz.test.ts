// Property tests of WAV decoding (src/inference/wav.ts), which reads bytes from clients: on
// valid, mutated and random files it returns audio or throws InvalidInputError, never anything
// else, and never holds more samples than the file has bytes.
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.ts';
import { decodeWav } from '../../src/inference/wav.ts';
import { buildWav } from './wav-builder.ts';

function decodesOrRefuses(bytes: Uint8Array): void {
  let audio;
  try {
    audio = decodeWav(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    return;
  }
  expect(audio.samples.length).toBe(audio.frames);
  expect(audio.frames).toBeLessThanOrEqual(bytes.byteLength);
  for (const v of audio.samples) expect(Number.isFinite(v)).toBe(true);
}

const format = fc.constantFrom(
  { bits: 8, float: false }, { bits: 16, float: false }, { bits: 24, float: false }, { bits: 32, float: false },
  { bits: 32, float: true }, { bits: 64, float: true },
);
const wav = fc.record({
  format, channels: fc.integer({ min: 1, max: 4 }), sampleRate: fc.constantFrom(1000, 8000, 16000, 44100, 384000),
  extensible: fc.boolean(), samples: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { maxLength: 64 }),
  extra: fc.option(fc.record({ id: fc.constantFrom('LIST', 'junk', 'fact'), body: fc.uint8Array({ maxLength: 9 }) })),
}).map((w) => buildWav({
  sampleRate: w.sampleRate, channels: w.channels, bits: w.format.bits, float: w.format.float, extensible: w.extensible,
  samples: w.samples.slice(0, w.samples.length - (w.samples.length % w.channels)),
  ...(w.extra === null ? {} : { between: [w.extra] }),
}));

describe('WAV decoding on hostile bytes', () => {
  it('decodes every valid file it is given', () => {
    fc.assert(fc.property(wav, (bytes) => {
      const audio = decodeWav(bytes);
      expect(audio.frames).toBeLessThanOrEqual(bytes.byteLength);
    }), { numRuns: 500 });
  });

  it('returns audio or an InvalidInputError for mutated files', () => {
    const edits = fc.array(fc.record({ at: fc.nat(), byte: fc.nat({ max: 255 }) }), { minLength: 1, maxLength: 6 });
    fc.assert(fc.property(wav, edits, fc.option(fc.nat()), (bytes, changes, cut) => {
      const b = Uint8Array.from(bytes);
      // Aim most edits at the header and chunk sizes, where the decoder makes its decisions.
      for (const { at, byte } of changes) b[at % Math.min(b.length, 80)] = byte;
      decodesOrRefuses(cut === null ? b : b.subarray(0, cut % (b.length + 1)));
    }), { numRuns: 2000 });
  });

  it('returns audio or an InvalidInputError for random bytes behind a RIFF/WAVE header', () => {
    const header = new TextEncoder().encode('RIFF\0\0\0\0WAVE');
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (tail, withHeader) => {
      decodesOrRefuses(withHeader ? Uint8Array.from([...header, ...tail]) : tail);
    }), { numRuns: 2000 });
  });
});
