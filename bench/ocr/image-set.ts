// The OCR bench's image set, as data: for each image a font, a size, 1–4 lines of English words
// and numbers, an optional rotation of 2–5 degrees and optional noise, all drawn from a seeded
// generator so every run renders the same images (sizes 14–48 pt). Pure; render.ts turns a spec into a PNG.

export const OCR_FONT_DIR = '/usr/share/fonts/truetype/dejavu';

/** DejaVu faces (file names in OCR_FONT_DIR). */
export const OCR_FONTS = [
  'DejaVuSans.ttf', 'DejaVuSerif.ttf', 'DejaVuSansMono.ttf', 'DejaVuSans-Bold.ttf',
  'DejaVuSerif-Bold.ttf', 'DejaVuSansCondensed.ttf', 'DejaVuSans-Oblique.ttf', 'DejaVuSansMono-Bold.ttf',
] as const;

export const OCR_POINT_SIZES = [14, 20, 26, 32, 40, 48] as const;

const WORDS = [
  'the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'Invoice', 'Total', 'Amount',
  'due', 'date', 'Street', 'London', 'Paris', 'order', 'number', 'paid', 'with', 'card', 'Thank',
  'you', 'for', 'your', 'visit', 'Coffee', 'bread', 'milk', 'apples', 'Monday', 'Friday', 'open',
  'from', 'until', 'Station', 'North', 'platform', 'train', 'delayed', 'minutes', 'Hello', 'World',
  'network', 'model', 'answer', 'query', 'route', 'node', 'Plexus', 'reading', 'text', 'line',
] as const;

export interface OcrImageSpec {
  readonly id: string;
  readonly font: string;
  readonly pointSize: number;
  readonly lines: readonly string[];
  /** Degrees, clockwise; 0 = upright. */
  readonly rotate: number;
  /** Gaussian noise strength (ImageMagick -attenuate), 0 = none. */
  readonly noise: number;
  /** Seed for the noise, so it is the same every run. */
  readonly noiseSeed: number;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)] as T;
}

function number(rand: () => number): string {
  const kind = Math.floor(rand() * 3);
  if (kind === 0) return String(1 + Math.floor(rand() * 9999));
  if (kind === 1) return `${Math.floor(rand() * 500)}.${String(Math.floor(rand() * 100)).padStart(2, '0')}`;
  return String(2000 + Math.floor(rand() * 40));
}

function line(rand: () => number): string {
  const n = 2 + Math.floor(rand() * 3);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(rand() < 0.2 ? number(rand) : pick(rand, WORDS));
  return out.join(' ');
}

/**
 * `count` image specs from `seed`. Fonts and sizes go round in turn (every face and size is
 * used); a third of the images are rotated (±2–5°), a third carry noise (independently).
 */
export function ocrImageSet(count: number, seed: number): OcrImageSpec[] {
  const rand = seededRandom(seed);
  const out: OcrImageSpec[] = [];
  for (let i = 0; i < count; i++) {
    const lines = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => line(rand));
    const rotated = rand() < 1 / 3;
    const magnitude = 2 + rand() * 3;
    const rotate = rotated ? Math.round((rand() < 0.5 ? -1 : 1) * magnitude * 10) / 10 : 0;
    const noisy = rand() < 1 / 3;
    out.push({
      id: `img${String(i).padStart(2, '0')}`,
      font: OCR_FONTS[i % OCR_FONTS.length] as string,
      pointSize: OCR_POINT_SIZES[(i + Math.floor(i / OCR_FONTS.length)) % OCR_POINT_SIZES.length] as number,
      lines,
      rotate,
      noise: noisy ? Math.round((0.6 + rand() * 0.8) * 100) / 100 : 0,
      noiseSeed: Math.floor(rand() * 1e6),
    });
  }
  return out;
}

/** ImageMagick arguments (everything between `convert` and the output file) for one spec. */
export function convertArgs(s: OcrImageSpec, fontDir = OCR_FONT_DIR): string[] {
  const longest = Math.max(...s.lines.map((l) => l.length));
  const lineH = Math.round(s.pointSize * 1.6);
  const width = Math.round(40 + longest * s.pointSize * 0.68);
  const height = 30 + lineH * s.lines.length;
  const args = ['-size', `${width}x${height}`, 'xc:white', '-font', `${fontDir}/${s.font}`, '-pointsize', String(s.pointSize), '-fill', 'black'];
  s.lines.forEach((l, i) => args.push('-annotate', `+20+${15 + Math.round(s.pointSize * 1.1) + lineH * i}`, l));
  if (s.rotate !== 0) args.push('-background', 'white', '-rotate', String(s.rotate), '+repage');
  if (s.noise > 0) args.push('-seed', String(s.noiseSeed), '-attenuate', String(s.noise), '+noise', 'Gaussian');
  args.push('-depth', '8');
  return args;
}
