// The pure parts of the OCR pipeline: min-area rectangles, corner order, unclip, reading order,
// detection sizes, DB boxes on a synthetic probability map, and CTC decoding.
import { describe, expect, it } from 'vitest';
import { dbBoxes, detSize } from '../../src/inference/adapters/ocr/detect.ts';
import { minAreaRect, orderCorners, readingOrder, unclipRect, type Pt, type Quad } from '../../src/inference/adapters/ocr/geometry.ts';
import { ctcDecode } from '../../src/inference/adapters/ocr/recognize.ts';

const near = (a: readonly Pt[], b: readonly Pt[]): void => a.forEach((p, i) => {
  expect(p[0]).toBeCloseTo(b[i]?.[0] ?? NaN, 6);
  expect(p[1]).toBeCloseTo(b[i]?.[1] ?? NaN, 6);
});

describe('OCR geometry', () => {
  it('finds the rotated rectangle around points and orders its corners tl, tr, br, bl', () => {
    const c = Math.cos(0.3), s = Math.sin(0.3);
    const rect: Pt[] = ([[0, 0], [10, 0], [10, 4], [0, 4]] as const).map(([x, y]) => [100 + x * c - y * s, 50 + x * s + y * c] as Pt);
    const inner: Pt[] = [...rect, [100 + 5 * c - 2 * s, 50 + 5 * s + 2 * c]];
    near(orderCorners(minAreaRect(inner)), [rect[0], rect[1], rect[2], rect[3]] as Pt[]);
  });

  it('unclips a rectangle by area * ratio / perimeter on every side', () => {
    const q: Quad = [[10, 10], [110, 10], [110, 30], [10, 30]];
    const d = (100 * 20 * 1.5) / 240;
    near(unclipRect(q, 1.5), [[10 - d, 10 - d], [110 + d, 10 - d], [110 + d, 30 + d], [10 - d, 30 + d]]);
  });

  it('sorts top to bottom, and by x within 10 px of the same height', () => {
    const at = (x: number, y: number, id: string): { quad: Quad; id: string } => ({ quad: [[x, y], [x + 5, y], [x + 5, y + 5], [x, y + 5]], id });
    expect(readingOrder([at(300, 52, 'b'), at(10, 120, 'c'), at(20, 48, 'a')]).map((b) => b.id)).toEqual(['a', 'b', 'c']);
  });

  it('sizes the detection input in multiples of 32, longest side capped', () => {
    expect(detSize(600, 160, 960)).toEqual({ w: 608, h: 160 });
    expect(detSize(1920, 1080, 960)).toEqual({ w: 960, h: 544 });
    expect(detSize(5, 5, 960)).toEqual({ w: 32, h: 32 });
  });

  it('turns each blob of the probability map into a grown box scaled to the image', () => {
    const w = 64, h = 32;
    const prob = new Float32Array(w * h);
    for (let y = 10; y < 20; y++) for (let x = 8; x < 48; x++) prob[y * w + x] = 0.9;
    prob[2 * w + 2] = 0.9; // a speck, smaller than the minimum box
    const boxes = dbBoxes(prob, w, h, 128, 64, { maxSide: 960, threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5 });
    expect(boxes).toHaveLength(1);
    const [tl, , br] = boxes[0]?.quad ?? [];
    // Pixels 8..47 x 10..19, grown by 39*9*1.5/96 ≈ 5.5, then doubled (image is 2x the map).
    expect(tl).toEqual([Math.round((8 - 5.484) * 2), Math.round((10 - 5.484) * 2)]);
    expect(br).toEqual([Math.round((47 + 5.484) * 2), Math.round((19 + 5.484) * 2)]);
    expect(boxes[0]?.score).toBeCloseTo(0.9, 5);
  });

  it('decodes CTC greedily: repeats collapse, blanks separate, score is the mean kept probability', () => {
    const chars = ['', 'a', 'b', ' '];
    const steps = [[0, 0.9, 0, 0], [0, 0.8, 0, 0], [1, 0, 0, 0], [0, 0.7, 0, 0], [0, 0, 0, 0.6], [0, 0, 0.5, 0]];
    const [r] = ctcDecode(Float32Array.from(steps.flat()), 1, steps.length, 4, chars);
    expect(r?.text).toBe('aa b');
    expect(r?.score).toBeCloseTo((0.9 + 0.7 + 0.6 + 0.5) / 4, 6);
  });
});
