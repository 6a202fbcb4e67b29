// Turns load results into table rows with the same columns everywhere.
import type { LoadResult } from './load.ts';
import type { ResultRow } from './types.ts';
import { round } from './stats.ts';

export const LOAD_COLUMNS = ['c', 'calls', 'errors', 'qps', 'p50Ms', 'p99Ms', 'meanMs'] as const;

export function loadRow(label: string, r: LoadResult, extra: Record<string, number | string | null> = {}): ResultRow {
  return {
    label,
    values: {
      c: r.concurrency, calls: r.calls, errors: r.errors, qps: round(r.qps),
      p50Ms: round(r.latency.p50), p99Ms: round(r.latency.p99), meanMs: round(r.latency.mean), ...extra,
    },
  };
}
