// Closed-loop load generator: `concurrency` workers each issue one call, wait for it, issue the
// next, until the measuring window ends. A warm-up window runs first and is not recorded.
import { performance } from 'node:perf_hooks';
import { summarize, type Summary } from './stats.ts';

export interface LoadOptions {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Stop early once this many calls were recorded. */
  readonly maxCalls?: number;
}

export interface LoadResult {
  readonly concurrency: number;
  readonly calls: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly qps: number;
  /** Latency of successful calls, ms. */
  readonly latency: Summary;
  /** First error message seen, to say what failed. */
  readonly firstError?: string;
}

export async function closedLoop(call: (worker: number) => Promise<void>, opts: LoadOptions): Promise<LoadResult> {
  const warmEnd = performance.now() + opts.warmupMs;
  let measureStart = 0;
  let stopAt = Infinity;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const maxCalls = opts.maxCalls ?? Infinity;

  const worker = async (id: number): Promise<void> => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= stopAt || latencies.length + errors >= maxCalls) return;
      let ok = true;
      try {
        await call(id);
      } catch (e) {
        ok = false;
        if (t0 >= warmEnd) {
          errors++;
          firstError ??= e instanceof Error ? e.message : String(e);
        }
      }
      const t1 = performance.now();
      if (t0 >= warmEnd && t1 <= stopAt && ok) latencies.push(t1 - t0);
    }
  };

  // The window opens when warm-up ends; set the stop time then, not before.
  const timer = setTimeout(() => {
    measureStart = performance.now();
    stopAt = measureStart + opts.durationMs;
  }, opts.warmupMs);
  const workers = Array.from({ length: opts.concurrency }, (_, i) => worker(i));
  // A bounded run (maxCalls) may end before the timer; make sure the window has a start.
  await Promise.all(workers);
  clearTimeout(timer);
  if (measureStart === 0) measureStart = warmEnd;
  const end = Math.min(performance.now(), stopAt);
  const elapsedMs = Math.max(1e-6, end - measureStart);
  const calls = latencies.length;
  return {
    concurrency: opts.concurrency,
    calls,
    errors,
    elapsedMs,
    qps: (calls * 1000) / elapsedMs,
    latency: summarize(latencies),
    ...(firstError !== undefined ? { firstError } : {}),
  };
}
