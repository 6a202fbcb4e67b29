// Renders the OCR bench's image set with ImageMagick (Debian `imagemagick`, DejaVu fonts) into
// PNG buffers; a machine without either skips the scenario.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ScenarioSkipped } from '../types.ts';
import { convertArgs, OCR_FONT_DIR, OCR_FONTS, type OcrImageSpec } from './image-set.ts';

/** The real ImageMagick (/usr/local/bin/convert may be something else). */
export const CONVERT = '/usr/bin/convert';

export interface RenderedImage {
  readonly spec: OcrImageSpec;
  readonly png: Buffer;
}

const run = promisify(execFile);

export async function renderImages(specs: readonly OcrImageSpec[]): Promise<RenderedImage[]> {
  if (!existsSync(CONVERT)) throw new ScenarioSkipped(`${CONVERT} (ImageMagick) is not installed`);
  const missing = OCR_FONTS.filter((f) => !existsSync(join(OCR_FONT_DIR, f)));
  if (missing.length > 0) throw new ScenarioSkipped(`DejaVu fonts missing in ${OCR_FONT_DIR}: ${missing.join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-ocr-'));
  try {
    const out: RenderedImage[] = [];
    for (const spec of specs) {
      const file = join(dir, `${spec.id}.png`);
      await run(CONVERT, [...convertArgs(spec), file], { timeout: 20_000 });
      out.push({ spec, png: readFileSync(file) });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
