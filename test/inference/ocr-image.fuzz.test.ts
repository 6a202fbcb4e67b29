// Property tests of OCR image decoding (src/inference/adapters/ocr/image.ts, sharp/libvips),
// which reads bytes from clients: on random bytes and on truncated or mutated PNG/JPEG files it
// returns RGB pixels within the pixel limit or throws InvalidInputError (INVALID_ARGUMENT) or
// MessageTooLargeError (RESOURCE_EXHAUSTED), never anything else, and each case ends in a bound.
import { crc32 } from 'node:zlib';
import * as fc from 'fast-check';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, MessageTooLargeError } from '../../src/errors.ts';
import { decodeImage } from '../../src/inference/adapters/ocr/image.ts';

const MAX_PIXELS = 64 * 64;
/** Per case: far above what one small image takes, far below a hang. */
const CASE_BOUND_MS = 3000;

let png: Uint8Array;
let jpeg: Uint8Array;

beforeAll(async () => {
  const raw = Buffer.alloc(24 * 16 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) % 256;
  const base = sharp(raw, { raw: { width: 24, height: 16, channels: 3 } });
  png = new Uint8Array(await base.clone().png().toBuffer());
  jpeg = new Uint8Array(await base.clone().jpeg({ quality: 80 }).toBuffer());
});

async function decodesOrRefuses(bytes: Uint8Array): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'hang'>((resolve) => { timer = setTimeout(() => resolve('hang'), CASE_BOUND_MS); });
  const run = decodeImage(bytes, MAX_PIXELS).then((img) => ({ img }), (e: unknown) => ({ e }));
  const out = await Promise.race([run, bound]);
  clearTimeout(timer);
  if (out === 'hang') throw new Error(`decodeImage did not end within ${CASE_BOUND_MS} ms on ${bytes.length} bytes`);
  if ('e' in out) {
    if (!(out.e instanceof InvalidInputError || out.e instanceof MessageTooLargeError)) throw out.e;
    return;
  }
  expect(out.img.width * out.img.height).toBeLessThanOrEqual(MAX_PIXELS);
  expect(out.img.data.length).toBe(out.img.width * out.img.height * 3);
}

/** `file` with a few bytes overwritten (most edits in the first 64 bytes: the headers) and maybe cut short. */
const mutated = (file: () => Uint8Array): fc.Arbitrary<Uint8Array> => fc.tuple(
  fc.array(fc.record({ at: fc.nat(), byte: fc.nat({ max: 255 }), head: fc.boolean() }), { minLength: 0, maxLength: 6 }),
  fc.option(fc.nat()),
).map(([edits, cut]) => {
  const b = Uint8Array.from(file());
  for (const { at, byte, head } of edits) b[at % (head ? Math.min(64, b.length) : b.length)] = byte;
  return cut === null ? b : b.subarray(0, cut % (b.length + 1));
});

describe('OCR image decoding on hostile bytes', () => {
  it('decodes the valid PNG and JPEG it is given', async () => {
    for (const f of [png, jpeg]) {
      const img = await decodeImage(f, MAX_PIXELS);
      expect([img.width, img.height]).toEqual([24, 16]);
    }
  });

  it('returns pixels or a PlexusError for random bytes, bare or behind a PNG/JPEG signature', async () => {
    const sig = fc.constantFrom(new Uint8Array(0), Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), Uint8Array.of(0xff, 0xd8, 0xff, 0xe0));
    await fc.assert(fc.asyncProperty(sig, fc.uint8Array({ maxLength: 300 }), async (head, tail) => {
      await decodesOrRefuses(Uint8Array.from([...head, ...tail]));
    }), { numRuns: 400 });
  });

  it('returns pixels or a PlexusError for truncated or mutated PNG files', async () => {
    await fc.assert(fc.asyncProperty(mutated(() => png), decodesOrRefuses), { numRuns: 400 });
  });

  it('returns pixels or a PlexusError for truncated or mutated JPEG files', async () => {
    await fc.assert(fc.asyncProperty(mutated(() => jpeg), decodesOrRefuses), { numRuns: 400 });
  });

  it('a valid PNG header announcing any size over the limit is refused as RESOURCE_EXHAUSTED before decoding', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), async (w, h) => {
      fc.pre(w * h > MAX_PIXELS);
      const b = Uint8Array.from(png);
      const v = new DataView(b.buffer);
      // IHDR: length(4) 'IHDR'(4) at offset 8, width at 16, height at 20, its CRC at 29.
      v.setUint32(16, w, false);
      v.setUint32(20, h, false);
      v.setUint32(29, crc32(b.subarray(12, 29)), false);
      await expect(decodeImage(b, MAX_PIXELS)).rejects.toBeInstanceOf(MessageTooLargeError);
    }), { numRuns: 200 });
  });
});
