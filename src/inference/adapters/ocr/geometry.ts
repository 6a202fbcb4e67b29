// Plane geometry for OCR boxes, in pure TS: convex hull, minimum-area rectangle (rotating
// calipers, as cv2.minAreaRect), corner ordering (PaddleOCR's get_mini_boxes), the DB "unclip"
// of a rectangle, and reading-order sorting of quads (PaddleOCR's sorted_boxes).

export type Pt = readonly [number, number];
/** Corners in order: top-left, top-right, bottom-right, bottom-left. */
export type Quad = readonly [Pt, Pt, Pt, Pt];

const cross = (o: Pt, a: Pt, b: Pt): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
export const dist = (a: Pt, b: Pt): number => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** Convex hull, counter-clockwise in a y-up frame (Andrew's monotone chain). */
export function convexHull(points: readonly Pt[]): Pt[] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const half = (list: readonly Pt[]): Pt[] => {
    const out: Pt[] = [];
    for (const p of list) {
      while (out.length >= 2 && cross(out[out.length - 2] as Pt, out[out.length - 1] as Pt, p) <= 0) out.pop();
      out.push(p);
    }
    out.pop();
    return out;
  };
  return [...half(pts), ...half([...pts].reverse())];
}

/** The four corners of the smallest-area rectangle holding `points` (unordered). */
export function minAreaRect(points: readonly Pt[]): Pt[] {
  const hull = convexHull(points);
  if (hull.length === 0) return [];
  if (hull.length === 1) return [hull[0] as Pt, hull[0] as Pt, hull[0] as Pt, hull[0] as Pt];
  let best: { area: number; corners: Pt[] } | undefined;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i] as Pt;
    const b = hull[(i + 1) % hull.length] as Pt;
    const len = dist(a, b);
    if (len === 0) continue;
    const ux = (b[0] - a[0]) / len;
    const uy = (b[1] - a[1]) / len;
    let minU = Infinity, maxU = -Infinity, minV = Infinity, maxV = -Infinity;
    for (const p of hull) {
      const u = p[0] * ux + p[1] * uy;
      const v = -p[0] * uy + p[1] * ux;
      minU = Math.min(minU, u); maxU = Math.max(maxU, u); minV = Math.min(minV, v); maxV = Math.max(maxV, v);
    }
    const area = (maxU - minU) * (maxV - minV);
    if (best === undefined || area < best.area) {
      const at = (u: number, v: number): Pt => [u * ux - v * uy, u * uy + v * ux];
      best = { area, corners: [at(minU, minV), at(maxU, minV), at(maxU, maxV), at(minU, maxV)] };
    }
  }
  return best?.corners ?? [];
}

/** Order 4 corners as PaddleOCR's get_mini_boxes: by x, then top/bottom of each pair. */
export function orderCorners(c: readonly Pt[]): Quad {
  const s = [...c].sort((a, b) => a[0] - b[0]);
  const [p0, p1, p2, p3] = s as [Pt, Pt, Pt, Pt];
  const [tl, bl] = p1[1] > p0[1] ? [p0, p1] : [p1, p0];
  const [tr, br] = p3[1] > p2[1] ? [p2, p3] : [p3, p2];
  return [tl, tr, br, bl];
}

/** The shorter side of an ordered rectangle. */
export function shortSide(q: Quad): number {
  return Math.min(dist(q[0], q[1]), dist(q[1], q[2]));
}

/**
 * DB unclip of a rectangle: offset by d = area * ratio / perimeter (pyclipper, round joins);
 * the offset shape's minimum-area rectangle is the rectangle grown by d on every side.
 */
export function unclipRect(q: Quad, ratio: number): Quad {
  const w = dist(q[0], q[1]);
  const h = dist(q[0], q[3]);
  if (w === 0 || h === 0) return q;
  const d = (w * h * ratio) / (2 * (w + h));
  const ux = (q[1][0] - q[0][0]) / w, uy = (q[1][1] - q[0][1]) / w;
  const vx = (q[3][0] - q[0][0]) / h, vy = (q[3][1] - q[0][1]) / h;
  const move = (p: Pt, su: number, sv: number): Pt => [p[0] + d * (su * ux + sv * vx), p[1] + d * (su * uy + sv * vy)];
  return [move(q[0], -1, -1), move(q[1], 1, -1), move(q[2], 1, 1), move(q[3], -1, 1)];
}

/** Is p inside the convex quad (either winding)? */
export function insideQuad(q: Quad, p: Pt): boolean {
  let pos = false, neg = false;
  for (let i = 0; i < 4; i++) {
    const c = cross(q[i] as Pt, q[(i + 1) % 4] as Pt, p);
    if (c > 0) pos = true;
    if (c < 0) neg = true;
  }
  return !(pos && neg);
}

/** Reading order: by top-left y then x; neighbours on one line (|dy| < 10 px) by x. */
export function readingOrder<T extends { readonly quad: Quad }>(items: readonly T[]): T[] {
  const out = [...items].sort((a, b) => a.quad[0][1] - b.quad[0][1] || a.quad[0][0] - b.quad[0][0]);
  for (let i = 0; i < out.length - 1; i++) {
    for (let j = i; j >= 0; j--) {
      const a = out[j] as T;
      const b = out[j + 1] as T;
      if (Math.abs(b.quad[0][1] - a.quad[0][1]) < 10 && b.quad[0][0] < a.quad[0][0]) {
        out[j] = b;
        out[j + 1] = a;
      } else break;
    }
  }
  return out;
}
