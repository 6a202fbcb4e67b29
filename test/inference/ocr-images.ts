// Test images for OCR: text rendered with ImageMagick (Debian `imagemagick`, DejaVu font) at
// test time, and hand-built PNG headers for the bad-input cases (0x0, 30000x30000).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { ocrLocalReadEntry, ocrModelEntries } from '../../src/inference/adapters/ocr/ocr-config.ts';

/** The real ImageMagick (/usr/local/bin/convert may be something else). */
export const CONVERT = '/usr/bin/convert';
export const HAS_CONVERT = existsSync(CONVERT);

/** A convert command's output file; args are everything between `convert` and the output name. */
export function render(args: readonly string[], ext = 'png'): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'plexus-ocr-'));
  try {
    const out = path.join(dir, `out.${ext}`);
    execFileSync(CONVERT, [...args, out], { stdio: 'ignore', timeout: 20_000 });
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Black DejaVu Sans text on white, one line per entry, 60 px apart, starting 60 px down. */
export function textImage(lines: readonly string[], ext = 'png', width = 600): Buffer {
  const args = ['-size', `${width}x${40 + 60 * lines.length}`, 'xc:white', '-font', 'DejaVu-Sans', '-pointsize', '36', '-fill', 'black'];
  lines.forEach((l, i) => args.push('-annotate', `+20+${60 + 60 * i}`, l));
  return render(args, ext);
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG whose header says width x height (8-bit grey), with one row of image data. */
export function pngWithHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(0, 9); // greyscale
  const row = deflateSync(Buffer.alloc(1 + Math.min(width, 64)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', row), chunk('IEND', Buffer.alloc(0))]);
}

/** Letters and digits only, upper case: the tolerant form to compare recognised text in. */
export const squash = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]/g, '');

/**
 * The OCR entries of ocrModelEntries(), with ocr.read as the local adapter (ocrLocalReadEntry:
 * these tests are about the adapters on one node) and its pixel limit lowered to 4 MP.
 */
export const OCR_MODELS = ocrModelEntries().map((m) => {
  if (m.name !== 'ocr-read') return m;
  const local = ocrLocalReadEntry();
  return { ...local, ocr: { ...(local.ocr as object), maxPixels: 4_000_000 } };
});
