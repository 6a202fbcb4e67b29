// The soak's bookkeeping, pure: what became of each query (answered, failed with a status, late,
// hung) and the per-window counts the report shows.

/** A query ending this long after its deadline counts as late (the caller's clock, a loaded machine). */
export const SOAK_TOLERANCE_MS = 500;
/** RSS of the entry nodes (never killed) from the end of the first window to the end: flat within this. */
export const SOAK_RSS_FLAT_PCT = 20;

/** How a query ended, from the caller's side. */
export type Outcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'failed'; readonly status: string }
  /** Answered or failed, but after its deadline plus the tolerance. */
  | { readonly kind: 'late'; readonly status: string }
  /** No answer by its deadline plus the hang grace (the client gave up). */
  | { readonly kind: 'hung' };

export interface Ended {
  readonly elapsedMs: number;
  /** The deadline the query carried (plexus.deadline_ms). */
  readonly deadlineMs: number;
  /** gRPC status name of the failure; undefined when answered. */
  readonly status?: string;
  /** True when the caller's own timer (deadline + grace) ended it, not an answer. */
  readonly gaveUp: boolean;
}

export function classify(e: Ended, toleranceMs: number): Outcome {
  if (e.gaveUp) return { kind: 'hung' };
  if (e.elapsedMs > e.deadlineMs + toleranceMs) return { kind: 'late', status: e.status ?? 'OK' };
  return e.status === undefined ? { kind: 'ok' } : { kind: 'failed', status: e.status };
}

export interface WindowTally {
  sent: number;
  ok: number;
  failed: number;
  late: number;
  hung: number;
  /** Failures (failed and late) by status name. */
  readonly byStatus: Map<string, number>;
  /** Largest elapsed − deadline over queries that ended (negative: all early). */
  maxOverMs: number;
  readonly okMs: number[];
  /** The caller's own longest event-loop stall in the window (set by the scenario). */
  callerLagMaxMs: number | null;
}

export function emptyTally(): WindowTally {
  return { sent: 0, ok: 0, failed: 0, late: 0, hung: 0, byStatus: new Map(), maxOverMs: Number.NEGATIVE_INFINITY, okMs: [], callerLagMaxMs: null };
}

export function record(t: WindowTally, e: Ended, toleranceMs: number): Outcome {
  const o = classify(e, toleranceMs);
  t[o.kind]++;
  if (o.kind === 'failed' || o.kind === 'late') t.byStatus.set(o.status, (t.byStatus.get(o.status) ?? 0) + 1);
  if (o.kind === 'ok') t.okMs.push(e.elapsedMs);
  if (!e.gaveUp) t.maxOverMs = Math.max(t.maxOverMs, e.elapsedMs - e.deadlineMs);
  return o;
}

/** "UNAVAILABLE 3, DEADLINE_EXCEEDED 1", most frequent first; "–" when none. */
export function statusSummary(byStatus: ReadonlyMap<string, number>): string {
  const parts = [...byStatus].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ${n}`);
  return parts.length > 0 ? parts.join(', ') : '–';
}

/** Growth of `end` over `start` in percent; null when either is missing. */
export function growthPct(start: number | null, end: number | null): number | null {
  if (start === null || end === null || start <= 0) return null;
  return (100 * (end - start)) / start;
}
