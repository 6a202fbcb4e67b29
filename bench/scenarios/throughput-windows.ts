// The throughput scenario's measuring windows: one window of closed-loop load on one target
// with each process's CPU time, system calls and the machine's TCP segments read around it, and
// the A/B runner that puts two builds' windows in the order A B B A.
import { closedLoop, type LoadResult } from '../load.ts';
import { rawCaller } from '../raw-grpc.ts';
import { cpuSeconds, ioSyscalls, rssMb, tcpOutSegments } from '../procs.ts';
import { round } from '../stats.ts';
import type { ScenarioContext } from '../types.ts';

// c=64 first, after a longer warm-up (firstWarmupMs), so both windows measure a warmed-up
// process: at c=1 alone V8 was still optimizing the query path ~20 s in (p50 1.58 ms in the
// first 5 s, 1.21 ms from 20 s on).
export const CONCURRENCY = [64, 1] as const;

export interface Proc { readonly role: string; readonly pid: number }
export interface Measured {
  readonly load: LoadResult;
  readonly cpuMsPerQuery: Record<string, number | null>;
  readonly syscallsPerQuery: Record<string, number | null>;
  readonly tcpSegmentsPerQuery: number | null;
  readonly rssMb: Record<string, number | null>;
}

export function windows(ctx: ScenarioContext): { durationMs: number; warmupMs: number } {
  return { durationMs: ctx.quick ? 3000 : 8000, warmupMs: ctx.quick ? 1000 : 2000 };
}

/** A fresh process's first warm-up: long enough for V8 to finish optimizing the query path (~20k queries). */
export function firstWarmupMs(ctx: ScenarioContext): number {
  return ctx.quick ? 2000 : 8000;
}

/** Warm up, then one window with CPU read from /proc before and after, per process. */
export async function measure(address: string, path: string, payload: Buffer, procs: readonly Proc[], c: number, ctx: ScenarioContext, warmup?: number): Promise<Measured> {
  const caller = rawCaller(address, path, payload);
  try {
    const { durationMs, warmupMs: defaultWarmupMs } = windows(ctx);
    const warmupMs = warmup ?? defaultWarmupMs;
    await closedLoop(async () => { await caller.call(); }, { concurrency: c, durationMs: warmupMs, warmupMs: 0 });
    const cpu0 = procs.map((p) => cpuSeconds(p.pid));
    const sys0 = procs.map((p) => ioSyscalls(p.pid));
    const seg0 = tcpOutSegments();
    const self0 = process.cpuUsage();
    const load = await closedLoop(async () => { await caller.call(); }, { concurrency: c, durationMs, warmupMs: 0 });
    const self = process.cpuUsage(self0);
    const seg1 = tcpOutSegments();
    const n = Math.max(1, load.calls + load.errors);
    const perQuery = (a: number | null | undefined, b: number | null, scale = 1): number | null => (a === null || a === undefined || b === null ? null : round((scale * (b - a)) / n));
    const cpuMsPerQuery: Record<string, number | null> = { caller: round((self.user + self.system) / 1000 / n) };
    const syscallsPerQuery: Record<string, number | null> = {};
    procs.forEach((p, i) => {
      cpuMsPerQuery[p.role] = perQuery(cpu0[i], cpuSeconds(p.pid), 1000);
      syscallsPerQuery[p.role] = perQuery(sys0[i], ioSyscalls(p.pid));
    });
    return { load, cpuMsPerQuery, syscallsPerQuery, tcpSegmentsPerQuery: perQuery(seg0, seg1), rssMb: Object.fromEntries(procs.map((p) => [p.role, round(rssMb(p.pid))])) };
  } finally {
    caller.close();
  }
}


/** A build under test: its bin/plexus (undefined: this checkout's), its metric key prefix and row label prefix. */
export interface Build { readonly tag: string; readonly label: string; readonly bin: string | undefined }

/** A started target: where to call it and the processes whose costs count. */
export interface Started { readonly address: string; readonly procs: readonly Proc[]; stop(): Promise<void> }

/**
 * The order of the builds' windows: one build alone; two as A B B A, so that the machine's drift
 * over the run (other work on a shared machine moved whole runs by 20% and more, and whichever
 * build ran second gained) weighs on both alike.
 */
export function windowOrder<T>(builds: readonly T[]): T[] {
  const [a, b] = builds;
  return builds.length === 2 && a !== undefined && b !== undefined ? [a, b, b, a] : [...builds];
}

/**
 * Every build's target started side by side (idle ones cost ~0.003 cores), then for each
 * concurrency of CONCURRENCY the windows in windowOrder, each process's first after a longer
 * warm-up; `record` gets each build's windows of that concurrency.
 */
export async function measureBuilds(
  builds: readonly Build[], start: (b: Build) => Promise<Started>, path: string, payload: Buffer, ctx: ScenarioContext,
  record: (b: Build, windows: readonly Measured[]) => void,
): Promise<void> {
  const started = new Map<Build, Started>();
  try {
    for (const b of builds) started.set(b, await start(b));
    const warmed = new Set<Build>();
    for (const c of CONCURRENCY) {
      const windowsOf = new Map<Build, Measured[]>(builds.map((b) => [b, []]));
      for (const b of windowOrder(builds)) {
        const s = started.get(b);
        if (s === undefined) continue;
        const first = !warmed.has(b);
        warmed.add(b);
        windowsOf.get(b)?.push(await measure(s.address, path, payload, s.procs, c, ctx, first ? firstWarmupMs(ctx) : undefined));
      }
      for (const b of builds) record(b, windowsOf.get(b) ?? []);
    }
  } finally {
    await Promise.all([...started.values()].map((s) => s.stop()));
  }
}

/** The mean of the numbers, null when any is null or there are none. */
export function meanOf(values: readonly (number | null | undefined)[]): number | null {
  if (values.length === 0 || values.some((v) => v === null || v === undefined)) return null;
  return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
}
