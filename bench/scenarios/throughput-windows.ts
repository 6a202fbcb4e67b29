// The throughput scenario's measuring windows: one window of closed-loop load on one target
// with each process's CPU time, system calls and the machine's TCP segments read around it, and
// the rounds that give every target (each build's, with a baseline) one window each, in an
// order that rotates, with the medians and ranges of figures taken within a round.
import { closedLoop, type LoadResult } from '../load.ts';
import { rawCaller } from '../raw-grpc.ts';
import { cpuSeconds, ioSyscalls, machineCpuTicks, rssMb, stealPct, tcpOutSegments } from '../procs.ts';
import { round } from '../stats.ts';
import type { ScenarioContext } from '../types.ts';

// c=64 first, each target's first window after a longer warm-up (firstWarmupMs), so every
// window measures a warmed-up process: at c=1 alone V8 was still optimizing the query path
// ~20 s in (p50 1.58 ms in the first 5 s, 1.21 ms from 20 s on). Then c=1.

export interface Proc { readonly role: string; readonly pid: number }
export interface Measured {
  readonly load: LoadResult;
  readonly cpuMsPerQuery: Record<string, number | null>;
  readonly syscallsPerQuery: Record<string, number | null>;
  readonly tcpSegmentsPerQuery: number | null;
  readonly rssMb: Record<string, number | null>;
  /** The share of the machine's CPU time its host stole during the window (/proc/stat), in %; absent when not read. */
  readonly stealPct?: number | null;
}

export function windows(ctx: ScenarioContext): { durationMs: number; warmupMs: number } {
  return { durationMs: ctx.quick ? 3000 : 8000, warmupMs: ctx.quick ? 1000 : 2000 };
}

/** The c=64 rounds: one window of every target each (see roundOrder). */
export function c64Rounds(ctx: ScenarioContext): { rounds: number; durationMs: number; warmupMs: number } {
  return { rounds: ctx.quick ? 1 : 3, ...windows(ctx) };
}

/** The c=1 rounds: shorter windows, more of them (see roundOrder). */
export function c1Rounds(ctx: ScenarioContext): { rounds: number; durationMs: number; warmupMs: number } {
  return { rounds: ctx.quick ? 2 : 8, durationMs: ctx.quick ? 1500 : 3000, warmupMs: ctx.quick ? 500 : 1000 };
}

/** A fresh process's first warm-up: long enough for V8 to finish optimizing the query path (~20k queries). */
export function firstWarmupMs(ctx: ScenarioContext): number {
  return ctx.quick ? 2000 : 8000;
}

/** Warm up, then one window with CPU read from /proc before and after, per process. */
export async function measure(address: string, path: string, payload: Buffer, procs: readonly Proc[], c: number, window: { durationMs: number; warmupMs: number }): Promise<Measured> {
  const caller = rawCaller(address, path, payload);
  try {
    const { durationMs, warmupMs } = window;
    await closedLoop(async () => { await caller.call(); }, { concurrency: c, durationMs: warmupMs, warmupMs: 0 });
    const cpu0 = procs.map((p) => cpuSeconds(p.pid));
    const sys0 = procs.map((p) => ioSyscalls(p.pid));
    const seg0 = tcpOutSegments();
    const ticks0 = machineCpuTicks();
    const self0 = process.cpuUsage();
    const load = await closedLoop(async () => { await caller.call(); }, { concurrency: c, durationMs, warmupMs: 0 });
    const self = process.cpuUsage(self0);
    const ticks1 = machineCpuTicks();
    const seg1 = tcpOutSegments();
    const n = Math.max(1, load.calls + load.errors);
    const perQuery = (a: number | null | undefined, b: number | null, scale = 1): number | null => (a === null || a === undefined || b === null ? null : round((scale * (b - a)) / n));
    const cpuMsPerQuery: Record<string, number | null> = { caller: round((self.user + self.system) / 1000 / n) };
    const syscallsPerQuery: Record<string, number | null> = {};
    procs.forEach((p, i) => {
      cpuMsPerQuery[p.role] = perQuery(cpu0[i], cpuSeconds(p.pid), 1000);
      syscallsPerQuery[p.role] = perQuery(sys0[i], ioSyscalls(p.pid));
    });
    return {
      load, cpuMsPerQuery, syscallsPerQuery, tcpSegmentsPerQuery: perQuery(seg0, seg1), rssMb: Object.fromEntries(procs.map((p) => [p.role, round(rssMb(p.pid))])),
      stealPct: round(stealPct(ticks0, ticks1)),
    };
  } finally {
    caller.close();
  }
}


/** A build under test: its bin/plexus (undefined: this checkout's), its metric key prefix and row label prefix. */
export interface Build {
  readonly tag: string;
  readonly label: string;
  readonly bin: string | undefined;
  /** Its silero-vad batches (`batching.axes` exists in that build; a baseline from before it runs unbatched). */
  readonly batching: boolean;
}

/** A started target: where to call it and the processes whose costs count. */
export interface Started { readonly address: string; readonly procs: readonly Proc[]; stop(): Promise<void> }

/** A target started and ready: its key (metrics), label (rows) and RPC path. */
export interface Running extends Started { readonly key: string; readonly label: string; readonly path: string }

/**
 * Round `r`'s order of the targets: rotated by r, so across the rounds each target runs first,
 * last and between the others. A window's p50 at c=1 moved by up to 70% from the window before
 * it on this shared 2-core machine (the same build, seconds apart): a figure taken from each
 * target's windows in a phase of their own carried that into the difference of two targets (a
 * hop, one run, came out at -0.3 ms).
 */
export function roundOrder<T>(targets: readonly T[], r: number): T[] {
  const k = targets.length === 0 ? 0 : r % targets.length;
  return [...targets.slice(k), ...targets.slice(0, k)];
}

/** The windows of every target, one per round in roundOrder; `window` measures one. */
export async function measureRounds<T>(targets: readonly T[], rounds: number, window: (t: T) => Promise<Measured>): Promise<Map<T, Measured[]>> {
  const out = new Map<T, Measured[]>(targets.map((t) => [t, []]));
  for (let r = 0; r < rounds; r++) {
    for (const t of roundOrder(targets, r)) out.get(t)?.push(await window(t));
  }
  return out;
}

/** A figure taken within each round (null where a window had none): its median over the rounds, and its range. */
export function overRounds(rounds: number, within: (r: number) => number | null): { median: number | null; min: number | null; max: number | null } {
  const values: (number | null)[] = Array.from({ length: rounds }, (_, r) => within(r));
  const known = values.filter((v): v is number => v !== null);
  return { median: medianOf(values), min: known.length === 0 ? null : Math.min(...known), max: known.length === 0 ? null : Math.max(...known) };
}

/** The median of the numbers (the mean of the middle two for an even count), null when any is null or there are none. */
export function medianOf(values: readonly (number | null | undefined)[]): number | null {
  if (values.length === 0 || values.some((v) => v === null || v === undefined)) return null;
  const sorted = [...(values as number[])].sort((a, b) => a - b);
  const hi = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[hi] ?? null) : ((sorted[hi - 1] ?? 0) + (sorted[hi] ?? 0)) / 2;
}
