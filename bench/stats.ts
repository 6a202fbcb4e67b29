// Percentiles and ratios for latency samples. Percentiles use linear interpolation between
// closest ranks (the same definition as numpy's default), so p50 of an even-length sample is
// the mean of the two middle values.

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly median: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** p-th percentile (0..100) of an ascending-sorted array; NaN for an empty one. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (p < 0 || p > 100 || Number.isNaN(p)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

export function percentile(samples: readonly number[], p: number): number {
  return percentileSorted([...samples].sort((x, y) => x - y), p);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((x, y) => x - y);
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  const p50 = percentileSorted(sorted, 50);
  return {
    n,
    min: n ? (sorted[0] as number) : Number.NaN,
    mean: n ? sum / n : Number.NaN,
    p50,
    median: p50,
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    max: n ? (sorted[n - 1] as number) : Number.NaN,
  };
}

/** a / b, or null when either side is missing or b is 0 (a ratio that cannot be formed is not 0 or Infinity). */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

/** Round for reports: 3 significant decimals below 10, fewer above. */
export function round(v: number | null): number | null {
  if (v === null || !Number.isFinite(v)) return null;
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Round every number in a Summary. */
export function roundSummary(s: Summary): Summary {
  const r = (v: number): number => round(v) ?? Number.NaN;
  return { n: s.n, min: r(s.min), mean: r(s.mean), p50: r(s.p50), median: r(s.median), p90: r(s.p90), p99: r(s.p99), max: r(s.max) };
}
