// Text-line recognition as PaddleOCR's PP-OCRv4 rec pipeline: each quad is cropped with a
// perspective warp (get_rotate_crop_image, turned upright when much taller than wide) straight
// to height 48 keeping its aspect, normalised (x/255 - 0.5) / 0.5 in BGR order, right-padded
// with zeros to the batch width (at least 320, resize_norm_img), then CTC greedy decoding over
// the dictionary (index 0 = blank, then the dictionary lines, then a space: use_space_char).
import { readFileSync } from 'node:fs';
import { dist, type Pt, type Quad } from './geometry.ts';
import type { RgbImage } from './image.ts';

export const REC_HEIGHT = 48;
export const REC_MIN_WIDTH = 320;
/** Longer lines are squeezed to this width. */
export const REC_MAX_WIDTH = 1600;

/** The rectified line, REC_HEIGHT high: channel-planar normalised BGR, `width` columns. */
export interface LineCrop {
  readonly width: number;
  readonly data: Float32Array;
}

/** Projective map of the unit square onto the quad: (s, t) in [0,1]^2 to image coordinates. */
function squareToQuad(q: Quad): (s: number, t: number) => Pt {
  const [[x0, y0], [x1, y1], [x2, y2], [x3, y3]] = q;
  const sx = x0 - x1 + x2 - x3, sy = y0 - y1 + y2 - y3;
  const dx1 = x1 - x2, dx2 = x3 - x2, dy1 = y1 - y2, dy2 = y3 - y2;
  const den = dx1 * dy2 - dx2 * dy1;
  const g = den === 0 ? 0 : (sx * dy2 - dx2 * sy) / den;
  const h = den === 0 ? 0 : (dx1 * sy - sx * dy1) / den;
  const a = x1 - x0 + g * x1, b = x3 - x0 + h * x3, d = y1 - y0 + g * y1, e = y3 - y0 + h * y3;
  return (s, t) => {
    const z = g * s + h * t + 1;
    return [(a * s + b * t + x0) / z, (d * s + e * t + y0) / z];
  };
}

/** Bilinear sample of channel c at (x, y), edges replicated. */
function sample(img: RgbImage, x: number, y: number, c: number): number {
  const cx = Math.min(Math.max(x, 0), img.width - 1), cy = Math.min(Math.max(y, 0), img.height - 1);
  const x0 = Math.floor(cx), y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, img.width - 1), y1 = Math.min(y0 + 1, img.height - 1);
  const fx = cx - x0, fy = cy - y0;
  const at = (xx: number, yy: number): number => img.data[3 * (yy * img.width + xx) + c] ?? 0;
  return (at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) + (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy;
}

/** How a quad is cut: its line width at REC_HEIGHT, and whether it is turned upright. */
export function lineShape(q: Quad): { width: number; upright: boolean } {
  const cw = Math.max(dist(q[0], q[1]), dist(q[3], q[2]));
  const ch = Math.max(dist(q[0], q[3]), dist(q[1], q[2]));
  const upright = ch > 0 && cw > 0 && ch / cw >= 1.5; // np.rot90: the crop turned counter-clockwise
  const ratio = cw === 0 || ch === 0 ? 1 : upright ? ch / cw : cw / ch;
  return { width: Math.min(REC_MAX_WIDTH, Math.max(1, Math.ceil(REC_HEIGHT * ratio))), upright };
}

/** Crop one quad to a REC_HEIGHT-high line. */
export function cropLine(img: RgbImage, q: Quad): LineCrop {
  const { width, upright } = lineShape(q);
  const map = squareToQuad(q);
  const plane = REC_HEIGHT * width;
  const data = new Float32Array(3 * plane);
  for (let v = 0; v < REC_HEIGHT; v++) {
    for (let u = 0; u < width; u++) {
      const s = (u + 0.5) / width, t = (v + 0.5) / REC_HEIGHT;
      const [x, y] = upright ? map(1 - t, s) : map(s, t);
      for (let c = 0; c < 3; c++) data[c * plane + v * width + u] = sample(img, x - 0.5, y - 0.5, 2 - c) / 127.5 - 1;
    }
  }
  return { width, data };
}

/** Lines as one [n,3,48,W] batch, W = max(320, widest), zero-padded on the right. */
export function recBatch(lines: readonly LineCrop[]): { width: number; data: Float32Array } {
  const width = Math.max(REC_MIN_WIDTH, ...lines.map((l) => l.width));
  const data = new Float32Array(lines.length * 3 * REC_HEIGHT * width);
  lines.forEach((l, n) => {
    for (let row = 0; row < 3 * REC_HEIGHT; row++) {
      data.set(l.data.subarray(row * l.width, (row + 1) * l.width), (n * 3 * REC_HEIGHT + row) * width);
    }
  });
  return { width, data };
}

/** Characters by class index: blank at 0, the dictionary, then a space. */
export function loadDictionary(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return ['', ...lines, ' '];
}

/** Greedy CTC over probs [n, steps, classes]: repeats collapsed, blanks dropped; score = mean kept prob. */
export function ctcDecode(probs: Float32Array, n: number, steps: number, classes: number, chars: readonly string[]): { text: string; score: number }[] {
  const out: { text: string; score: number }[] = [];
  for (let b = 0; b < n; b++) {
    let text = '', sum = 0, kept = 0, prev = -1;
    for (let t = 0; t < steps; t++) {
      const base = (b * steps + t) * classes;
      let best = 0, bestP = -Infinity;
      for (let c = 0; c < classes; c++) {
        const p = probs[base + c] ?? 0;
        if (p > bestP) { bestP = p; best = c; }
      }
      if (best !== 0 && best !== prev) {
        text += chars[best] ?? '';
        sum += bestP;
        kept++;
      }
      prev = best;
    }
    out.push({ text, score: kept === 0 ? 0 : sum / kept });
  }
  return out;
}
