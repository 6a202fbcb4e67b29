// Text detection as PaddleOCR's PP-OCRv4 det pipeline: DetResizeForTest (limit 'max', sides
// multiples of 32), NormalizeImage (ImageNet mean/std on the BGR image, as cv2 loads it), then
// DBPostProcess: binarise, one candidate per connected region, min-area box, mean-probability
// score, unclip, scale back to the original image.
import type { RgbImage } from './image.ts';
import { insideQuad, minAreaRect, orderCorners, readingOrder, shortSide, unclipRect, type Pt, type Quad } from './geometry.ts';

export interface DetectOptions {
  readonly maxSide: number;
  readonly threshold: number;
  readonly boxThreshold: number;
  readonly unclipRatio: number;
}

export interface DetectedBox {
  readonly quad: Quad;
  readonly score: number;
}

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const MIN_SIZE = 3;
const MAX_CANDIDATES = 1000;

/** Detection input size: longest side capped at maxSide, each side rounded to a multiple of 32. */
export function detSize(width: number, height: number, maxSide: number): { w: number; h: number } {
  const ratio = Math.max(width, height) > maxSide ? maxSide / Math.max(width, height) : 1;
  const round32 = (v: number): number => Math.max(Math.round((v * ratio) / 32) * 32, 32);
  return { w: round32(width), h: round32(height) };
}

/** RGB pixels (w x h) to the det model's [1,3,h,w] tensor, channels in BGR order. */
export function detTensor(rgb: Uint8Array, w: number, h: number): Float32Array {
  const plane = w * h;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const v = (rgb[3 * i + 2 - c] ?? 0) / 255; // c = 0 is blue
      out[c * plane + i] = (v - (MEAN[c] ?? 0)) / (STD[c] ?? 1);
    }
  }
  return out;
}

/** Boundary pixels of each 8-connected region of the bitmap (its contour points). */
export function regions(bitmap: Uint8Array, w: number, h: number): Pt[][] {
  const label = new Int32Array(w * h);
  const out: Pt[][] = [];
  const stack: number[] = [];
  const on = (x: number, y: number): boolean => x >= 0 && y >= 0 && x < w && y < h && bitmap[y * w + x] === 1;
  for (let start = 0; start < w * h && out.length < MAX_CANDIDATES; start++) {
    if (bitmap[start] !== 1 || label[start] !== 0) continue;
    const id = out.length + 1;
    const border: Pt[] = [];
    label[start] = id;
    stack.push(start);
    while (stack.length > 0) {
      const i = stack.pop() as number;
      const x = i % w, y = (i - x) / w;
      if (!on(x - 1, y) || !on(x + 1, y) || !on(x, y - 1) || !on(x, y + 1)) border.push([x, y]);
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const j = (y + dy) * w + x + dx;
          if (on(x + dx, y + dy) && label[j] === 0) {
            label[j] = id;
            stack.push(j);
          }
        }
      }
    }
    out.push(border);
  }
  return out;
}

/** Mean probability inside the quad (PaddleOCR's box_score_fast). */
export function boxScore(prob: Float32Array, w: number, h: number, q: Quad): number {
  const xs = q.map((p) => p[0]), ys = q.map((p) => p[1]);
  const clamp = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi - 1);
  const x0 = clamp(Math.floor(Math.min(...xs)), w), x1 = clamp(Math.ceil(Math.max(...xs)), w);
  const y0 = clamp(Math.floor(Math.min(...ys)), h), y1 = clamp(Math.ceil(Math.max(...ys)), h);
  let sum = 0, n = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (!insideQuad(q, [x, y])) continue;
      sum += prob[y * w + x] ?? 0;
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}

/** DB post-processing of a [h, w] probability map into boxes in a srcW x srcH image, in reading order. */
export function dbBoxes(prob: Float32Array, w: number, h: number, srcW: number, srcH: number, o: DetectOptions): DetectedBox[] {
  const bitmap = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) bitmap[i] = (prob[i] ?? 0) > o.threshold ? 1 : 0;
  const boxes: DetectedBox[] = [];
  for (const points of regions(bitmap, w, h)) {
    const corners = minAreaRect(points);
    if (corners.length !== 4) continue;
    const box = orderCorners(corners);
    if (shortSide(box) < MIN_SIZE) continue;
    const score = boxScore(prob, w, h, box);
    if (score < o.boxThreshold) continue;
    const grown = unclipRect(box, o.unclipRatio);
    if (shortSide(grown) < MIN_SIZE + 2) continue;
    const scale = (p: Pt): Pt => [
      Math.min(Math.max(Math.round((p[0] / w) * srcW), 0), srcW),
      Math.min(Math.max(Math.round((p[1] / h) * srcH), 0), srcH),
    ];
    const quad = grown.map(scale) as unknown as Quad;
    // PaddleOCR's filter_tag_det_res: drop boxes no more than 3 px wide or high once clipped.
    if (Math.trunc(Math.hypot(quad[0][0] - quad[1][0], quad[0][1] - quad[1][1])) <= 3
      || Math.trunc(Math.hypot(quad[0][0] - quad[3][0], quad[0][1] - quad[3][1])) <= 3) continue;
    boxes.push({ quad, score });
  }
  return readingOrder(boxes);
}

/** Detection input for an image: its resized size and tensor. */
export interface DetInput {
  readonly w: number;
  readonly h: number;
  readonly data: Float32Array;
}

export type Resize = (img: RgbImage, w: number, h: number) => Promise<Uint8Array>;

export async function detInput(img: RgbImage, maxSide: number, resize: Resize): Promise<DetInput> {
  const { w, h } = detSize(img.width, img.height, maxSide);
  return { w, h, data: detTensor(await resize(img, w, h), w, h) };
}
