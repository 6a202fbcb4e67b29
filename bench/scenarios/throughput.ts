// Scenario: what a node costs per query, side by side in one run (issue 13). The same request
// bytes (one raw silero-vad window, serialized once) go to
//  - a bare grpc-js echo server in another process (the limit),
//  - a Plexus node hosting the model (local),
//  - a Plexus node hosting nothing, one hop from the provider (a pure router),
//  - the bare servers that measure the c=1 targets' floors in the same rounds (bare-servers.ts:
//    grpc-js with silero-vad in a worker thread; grpc-js relaying over libp2p to an echo),
// from one raw-bytes caller in this process (bench/raw-grpc.ts: no encoding or decoding per
// call, so the load generator costs the same for every target), at c=64 and then at c=1. Every
// target runs from start to end, and each concurrency runs in rounds: a window of every target
// (at c=1, of ORT in-process too) in an order that rotates; each ratio is taken within a round,
// and its median over the rounds reported with its range (throughput-windows.ts). Per process:
// CPU time per query (utime+stime from /proc over the window ÷ calls), the caller's included.
// ORT in-process (c=1, back to back, in each round) gives the model's own time for the overhead rows.
// Counts beside the times, steadier where CPU time moves with the machine's other work: read and
// write system calls per query of each process (/proc/PID/io; these still move with how much
// one read finds) and TCP segments per query (the machine's, /proc/net/snmp: every hop's data,
// headers and acknowledgements; the same in every run at c=1).
// PLEXUS_BENCH_BASELINE=<another checkout, built> adds its local and router rows ("before", or
// PLEXUS_BENCH_BASELINE_LABEL): both builds' targets run side by side, a window of each in
// every round. Beside each window, the machine's steal time (/proc/stat). The nodes serve
// silero-vad batched as the embedded default's is (SILERO_VAD_BATCHING); a baseline from before
// `batching.axes` serves it unbatched, as that build could.
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { libp2pRoundTrips, workerRoundTrips } from '../floors.ts';
import { closedLoop, type LoadResult } from '../load.ts';
import { sileroRequestBytes } from '../raw-grpc.ts';
import { SILERO_MODEL, SILERO_SESSION_OPTIONS, sileroFeeds, sileroModelPath } from '../models/silero.ts';
import { machineCpuTicks, requireProjectFiles, stealPct } from '../procs.ts';
import { loadRow, LOAD_COLUMNS } from '../rows.ts';
import { ratio, round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';
import { c1Figures, c64Figures } from './throughput-figures.ts';
import { batchesSilero, spawnEchoChild, startTargets } from './throughput-targets.ts';
import { c1Rounds, c64Rounds, firstWarmupMs, measure, measureRounds, medianOf, windows, type Build, type Measured, type Running } from './throughput-windows.ts';

/** ORT in-process, one c=1 window per call, on one session; release() when done. */
async function ortWindows(): Promise<{ window(w: { durationMs: number; warmupMs: number }): Promise<Measured>; release(): Promise<void> }> {
  const session = await ort.InferenceSession.create(sileroModelPath(), SILERO_SESSION_OPTIONS);
  const feeds = sileroFeeds();
  return {
    window: async (w) => {
      const ticks0 = machineCpuTicks();
      const load = await closedLoop(async () => { await session.run(feeds); }, { concurrency: 1, ...w });
      return { load, cpuMsPerQuery: {}, syscallsPerQuery: {}, tcpSegmentsPerQuery: null, rssMb: {}, stealPct: round(stealPct(ticks0, machineCpuTicks())) };
    },
    release: () => session.release(),
  };
}

function perRoleText(values: Record<string, number | null>): string {
  return Object.entries(values).map(([k, v]) => `${k} ${v ?? '–'}`).join(', ');
}

/** A target's `r`th window by the target's key (null when there is none). */
function windowOf(byTarget: ReadonlyMap<{ readonly key: string }, readonly Measured[]>): (key: string, r: number) => Measured | null {
  const byKey = new Map([...byTarget].map(([t, ms]) => [t.key, ms]));
  return (key, r) => byKey.get(key)?.[r] ?? null;
}

/** Rows and per-target metrics from one target's windows (the scenario's `record`). */
type RecordWindows = (key: string, label: string, ms: readonly Measured[]) => void;

/** The c=64 rounds, then the c=1 rounds (with ORT in-process), of every running target: rows through `record`, figures into `metrics`. */
async function measureAllRounds(
  running: readonly Running[], ort0: Awaited<ReturnType<typeof ortWindows>>, payload: Buffer, ctx: ScenarioContext,
  tags: readonly string[], record: RecordWindows, metrics: Record<string, number | null>,
): Promise<void> {
  const { rounds: rounds64, ...c64Window } = c64Rounds(ctx);
  ctx.log(`throughput: c=64, ${rounds64} rounds`);
  const warmed = new Set<Running>();
  const c64 = await measureRounds(running, rounds64, (t) => {
    const first = !warmed.has(t);
    warmed.add(t);
    return measure(t.address, t.path, payload, t.procs, 64, { ...c64Window, ...(first ? { warmupMs: firstWarmupMs(ctx) } : {}) });
  });
  for (const [t, ms] of c64) record(t.key, t.label, ms);
  const at64 = windowOf(c64);
  c64Figures(metrics, tags, rounds64, (key, r) => at64(key, r)?.load.qps ?? null);

  const { rounds, ...c1Window } = c1Rounds(ctx);
  ctx.log(`throughput: c=1, ${rounds} rounds`);
  const c1Targets = [
    { key: 'ort', label: 'ORT in-process silero-vad', window: () => ort0.window(c1Window) },
    ...running.map((t) => ({ key: t.key, label: t.label, window: () => measure(t.address, t.path, payload, t.procs, 1, c1Window) })),
  ];
  const c1 = await measureRounds(c1Targets, rounds, (t) => t.window());
  for (const [t, ms] of c1) record(t.key, t.label, ms);
  const at1 = windowOf(c1);
  c1Figures(metrics, tags, rounds, (key, r) => at1(key, r)?.load.latency.p50 ?? null);
}

export const throughputScenario: Scenario = {
  name: 'throughput',
  title: 'Per-query cost: bare echo vs a local node vs a pure router (raw bytes, c=1 and c=64)',
  async run(ctx): Promise<ScenarioResult> {
    requireProjectFiles(['src/node/daemon.ts']);
    const started = performance.now();
    const payload = sileroRequestBytes(SILERO_MODEL);
    const rows: ResultRow[] = [];
    const metrics: Record<string, number | null> = {};
    const columns = [...LOAD_COLUMNS, 'cpuMsPerQuery', 'syscallsPerQuery', 'tcpSegmentsPerQuery', 'rssMbAfter', 'stealPct'];
    const notes: string[] = [`Request: ${payload.byteLength} B, the same bytes to every target; the caller neither encodes nor decodes per call.`];
    // One row per window (a round's); the metrics are the median of a target's windows.
    const record: RecordWindows = (key, label, ms) => {
      const first = ms[0];
      if (first === undefined) return;
      const c = first.load.concurrency;
      ms.forEach((m, i) => {
        rows.push(loadRow(`${label} c=${c}${ms.length > 1 ? ` (round ${i + 1} of ${ms.length})` : ''}`, m.load, {
          cpuMsPerQuery: perRoleText(m.cpuMsPerQuery), syscallsPerQuery: perRoleText(m.syscallsPerQuery), tcpSegmentsPerQuery: m.tcpSegmentsPerQuery, rssMbAfter: perRoleText(m.rssMb),
          stealPct: m.stealPct ?? null,
        }));
        if (m.load.errors > 0) notes.push(`${label} c=${c}: ${m.load.errors} errors, first: ${m.load.firstError ?? '?'}`);
      });
      metrics[`${key}C${c}Qps`] = medianOf(ms.map((m) => m.load.qps));
      metrics[`${key}C${c}P50Ms`] = medianOf(ms.map((m) => m.load.latency.p50));
      metrics[`${key}C${c}Errors`] = ms.reduce((n, m) => n + m.load.errors, 0);
      for (const role of Object.keys(first.cpuMsPerQuery)) metrics[`${key}C${c}Cpu_${role}`] = medianOf(ms.map((m) => m.cpuMsPerQuery[role]));
      for (const role of Object.keys(first.syscallsPerQuery)) metrics[`${key}C${c}Syscalls_${role}`] = medianOf(ms.map((m) => m.syscallsPerQuery[role]));
      metrics[`${key}C${c}TcpSegments`] = medianOf(ms.map((m) => m.tcpSegmentsPerQuery));
    };

    ctx.log('throughput: a bare worker-thread round trip, c=1');
    const workerRes = await workerRoundTrips(windows(ctx));
    rows.push(loadRow('bare worker-thread round trip, no work (this process) c=1', workerRes));
    metrics['workerRttC1P50Ms'] = workerRes.latency.p50;

    ctx.log('throughput: a bare libp2p round trip to another process, c=1');
    const p2pEcho = await spawnEchoChild('defaults');
    let p2pRes: LoadResult;
    try {
      p2pRes = await libp2pRoundTrips(windows(ctx), p2pEcho.ready.libp2p);
    } finally {
      await p2pEcho.stop();
    }
    rows.push(loadRow('bare libp2p round trip (another process) c=1', p2pRes));
    metrics['libp2pRttC1P50Ms'] = p2pRes.latency.p50;

    const baseline = process.env['PLEXUS_BENCH_BASELINE'];
    const builds: Build[] = [
      ...(baseline === undefined || baseline === '' ? [] : [{
        tag: 'before', label: `${process.env['PLEXUS_BENCH_BASELINE_LABEL'] ?? `before (${baseline})`}: `, bin: join(baseline, 'bin/plexus'), batching: batchesSilero(baseline),
      }]),
      { tag: '', label: '', bin: undefined, batching: true },
    ];
    if (builds.length > 1) notes.push('With a baseline, both builds run side by side, with a window of each in every round.');
    const running: Running[] = [];
    const ort0 = await ortWindows();
    try {
      ctx.log('throughput: starting the echo, the bare servers and every build\'s local node and router');
      await startTargets(builds, payload, running);
      await measureAllRounds(running, ort0, payload, ctx, builds.map((b) => b.tag), record, metrics);
    } finally {
      await Promise.all([ort0.release(), ...running.map((t) => t.stop())]);
    }

    const echoP50 = metrics['echoC1P50Ms'];
    if (builds.length > 1) {
      notes.push(`before, medians over the rounds: c=64 throughput vs the echo: local ${metrics['beforeLocalVsEchoC64'] ?? '–'}×, router ${metrics['beforeRouterVsEchoC64'] ?? '–'}×; c=1: local overhead ${metrics['beforeLocalOverheadVsEchoRtt'] ?? '–'}×, a hop ${metrics['beforeHopVsEchoRtt'] ?? '–'}× the echo round trip.`);
    }
    // The floors as sessions 14-18 took them, from round trips measured once, before the rounds:
    // the echo's plus a bare worker's, and a bare libp2p round trip (the libraries' defaults).
    metrics['localOverheadRttFloorVsEchoRtt'] = round(ratio(echoP50 == null || workerRes.latency.p50 === null ? null : echoP50 + workerRes.latency.p50, echoP50));
    metrics['hopRttFloorVsEchoRtt'] = round(ratio(p2pRes.latency.p50, echoP50));
    const range = (k: string): string => `${metrics[`${k}Min`] ?? '–'}–${metrics[`${k}Max`] ?? '–'}×`;
    notes.push(
      `c=64 throughput vs the echo, medians over the rounds: local ${metrics['localVsEchoC64'] ?? '–'}× (rounds: ${range('localVsEchoC64')}), router ${metrics['routerVsEchoC64'] ?? '–'}× (rounds: ${range('routerVsEchoC64')}).`,
      `c=1 p50, medians over the rounds: local overhead over in-process ORT ${metrics['localOverheadC1Ms'] ?? '–'} ms = ${metrics['localOverheadVsEchoRtt'] ?? '–'}× the echo round trip (${round(echoP50 ?? null) ?? '–'} ms; rounds: ${range('localOverheadVsEchoRtt')}); a hop ${metrics['hopC1Ms'] ?? '–'} ms = ${metrics['hopVsEchoRtt'] ?? '–'}× (rounds: ${range('hopVsEchoRtt')}). Floors, medians over the same rounds: of the local overhead, the bare model server less in-process ORT, ${metrics['localOverheadFloorC1Ms'] ?? '–'} ms = ${metrics['localOverheadFloorVsEchoRtt'] ?? '–'}× (rounds: ${range('localOverheadFloorVsEchoRtt')}); with the model on the event loop instead (no first goal), ${metrics['localOverheadInlineFloorC1Ms'] ?? '–'} ms = ${metrics['localOverheadInlineFloorVsEchoRtt'] ?? '–'}× (rounds: ${range('localOverheadInlineFloorVsEchoRtt')}); of a hop, the bare relay less the echo, ${metrics['hopFloorC1Ms'] ?? '–'} ms = ${metrics['hopFloorVsEchoRtt'] ?? '–'}× (rounds: ${range('hopFloorVsEchoRtt')}). Above them (Plexus's own cost): local ${metrics['localOverheadAboveFloorC1Ms'] ?? '–'} ms = ${metrics['localOverheadAboveFloorVsEchoRtt'] ?? '–'}×, a hop ${metrics['hopAboveFloorC1Ms'] ?? '–'} ms = ${metrics['hopAboveFloorVsEchoRtt'] ?? '–'}×. From single round trips measured before the rounds: the echo's plus a bare worker's (${round(workerRes.latency.p50) ?? '–'} ms) = ${metrics['localOverheadRttFloorVsEchoRtt'] ?? '–'}×; a bare libp2p round trip, the libraries' defaults (${round(p2pRes.latency.p50) ?? '–'} ms) = ${metrics['hopRttFloorVsEchoRtt'] ?? '–'}×.`,
      `c=64, what the bare servers serve against the echo: the model server ${metrics['bareModelVsEchoC64'] ?? '–'}× (rounds: ${range('bareModelVsEchoC64')}), with the model on its event loop ${metrics['bareInlineVsEchoC64'] ?? '–'}× (rounds: ${range('bareInlineVsEchoC64')}), the relay ${metrics['bareRelayVsEchoC64'] ?? '–'}× (rounds: ${range('bareRelayVsEchoC64')}).`,
      'cpuMsPerQuery: CPU ms per query of each process over the window (utime+stime from /proc; the caller from process.cpuUsage), threads included.',
      'syscallsPerQuery: read- and write-type system calls per query of each process (syscr+syscw, /proc/PID/io); tcpSegmentsPerQuery: TCP segments the machine sent per query (/proc/net/snmp OutSegs); stealPct: the share of the machine\'s CPU time its host ran something else while a CPU of this machine was ready to run, during the window (/proc/stat steal; 0 on bare metal).',
    );
    return { name: 'throughput', title: this.title, status: 'ok', durationMs: performance.now() - started, columns, rows, metrics, notes };
  },
};
