// Scenario: what a node costs per query, side by side in one run (issue 13). The same request
// bytes (one raw silero-vad window, serialized once) go to
//  - a bare grpc-js echo server in another process (the limit),
//  - a Plexus node hosting the model (local),
//  - a Plexus node hosting nothing, one hop from the provider (a pure router),
// from one raw-bytes caller in this process (bench/raw-grpc.ts: no encoding or decoding per
// call, so the load generator costs the same for every target), at c=1 and c=64. Per process:
// CPU time per query (utime+stime from /proc over the window ÷ calls), the caller's included.
// ORT in-process (c=1, back to back) gives the model's own time for the overhead rows.
// Counts beside the times, which hold where CPU time moves with the machine's other work: read
// and write system calls per query of each process (/proc/PID/io) and TCP segments per query
// (the machine's, /proc/net/snmp: every hop's data, headers and acknowledgements).
// PLEXUS_BENCH_BASELINE=<another checkout, built> adds its local and router rows ("before", or
// PLEXUS_BENCH_BASELINE_LABEL).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { closedLoop, type LoadResult } from '../load.ts';
import { decodeInferResponse, MODEL_INFER_PATH, rawCaller, sileroRequestBytes } from '../raw-grpc.ts';
import { SILERO_MODEL, sileroFeeds, sileroModelPath } from '../models/silero.ts';
import { cpuSeconds, ioSyscalls, requireProjectFiles, rssMb, spawnDaemon, spawnReady, stopAll, tcpOutSegments, type DaemonProc } from '../procs.ts';
import { loadRow, LOAD_COLUMNS } from '../rows.ts';
import { ratio, round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';
import { sileroSpec, startLine } from './plexus.ts';

const ECHO_CHILD = fileURLToPath(new URL('../echo-child.ts', import.meta.url));
const ECHO_PATH = '/plexus.bench.Echo/Echo';
// c=64 first, after a longer warm-up (firstWarmupMs), so both windows measure a warmed-up
// process: at c=1 alone V8 was still optimizing the query path ~20 s in (p50 1.58 ms in the
// first 5 s, 1.21 ms from 20 s on).
const CONCURRENCY = [64, 1] as const;

interface Proc { readonly role: string; readonly pid: number }
interface Measured {
  readonly load: LoadResult;
  readonly cpuMsPerQuery: Record<string, number | null>;
  readonly syscallsPerQuery: Record<string, number | null>;
  readonly tcpSegmentsPerQuery: number | null;
  readonly rssMb: Record<string, number | null>;
}

function windows(ctx: ScenarioContext): { durationMs: number; warmupMs: number } {
  return { durationMs: ctx.quick ? 3000 : 8000, warmupMs: ctx.quick ? 1000 : 2000 };
}

/** A fresh process's first warm-up: long enough for V8 to finish optimizing the query path (~20k queries). */
function firstWarmupMs(ctx: ScenarioContext): number {
  return ctx.quick ? 2000 : 8000;
}

/** Each concurrency of CONCURRENCY against one target, the first after a longer warm-up. */
async function measureAll(address: string, path: string, payload: Buffer, procs: readonly Proc[], ctx: ScenarioContext, record: (m: Measured) => void): Promise<void> {
  for (const [i, c] of CONCURRENCY.entries()) record(await measure(address, path, payload, procs, c, ctx, i === 0 ? firstWarmupMs(ctx) : undefined));
}

/** Warm up, then one window with CPU read from /proc before and after, per process. */
async function measure(address: string, path: string, payload: Buffer, procs: readonly Proc[], c: number, ctx: ScenarioContext, warmup?: number): Promise<Measured> {
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

async function ortC1(ctx: ScenarioContext): Promise<LoadResult> {
  const session = await ort.InferenceSession.create(sileroModelPath(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = sileroFeeds();
  try {
    return await closedLoop(async () => { await session.run(feeds); }, { concurrency: 1, ...windows(ctx) });
  } finally {
    await session.release();
  }
}

/** One answer decoded and checked before timing, so a run of fast errors cannot pass as throughput. */
async function checkAnswers(address: string, payload: Buffer): Promise<void> {
  const caller = rawCaller(address, MODEL_INFER_PATH, payload);
  try {
    const res = decodeInferResponse(await caller.call()) as { outputs?: { name: string }[] };
    if (!(res.outputs ?? []).some((o) => o.name === 'output')) throw new Error(`answer without 'output': ${JSON.stringify(res).slice(0, 200)}`);
  } finally {
    caller.close();
  }
}

function perRoleText(values: Record<string, number | null>): string {
  return Object.entries(values).map(([k, v]) => `${k} ${v ?? '–'}`).join(', ');
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
    const columns = [...LOAD_COLUMNS, 'cpuMsPerQuery', 'syscallsPerQuery', 'tcpSegmentsPerQuery', 'rssMbAfter'];
    const notes: string[] = [`Request: ${payload.byteLength} B, the same bytes to every target; the caller neither encodes nor decodes per call.`];
    const record = (key: string, label: string, m: Measured): void => {
      const c = m.load.concurrency;
      rows.push(loadRow(`${label} c=${c}`, m.load, {
        cpuMsPerQuery: perRoleText(m.cpuMsPerQuery), syscallsPerQuery: perRoleText(m.syscallsPerQuery), tcpSegmentsPerQuery: m.tcpSegmentsPerQuery, rssMbAfter: perRoleText(m.rssMb),
      }));
      metrics[`${key}C${c}Qps`] = m.load.qps;
      metrics[`${key}C${c}P50Ms`] = m.load.latency.p50;
      metrics[`${key}C${c}Errors`] = m.load.errors;
      for (const [role, v] of Object.entries(m.cpuMsPerQuery)) metrics[`${key}C${c}Cpu_${role}`] = v;
      for (const [role, v] of Object.entries(m.syscallsPerQuery)) metrics[`${key}C${c}Syscalls_${role}`] = v;
      metrics[`${key}C${c}TcpSegments`] = m.tcpSegmentsPerQuery;
      if (m.load.errors > 0) notes.push(`${label} c=${c}: ${m.load.errors} errors, first: ${m.load.firstError ?? '?'}`);
    };

    ctx.log('throughput: in-process ORT, c=1');
    const ortRes = await ortC1(ctx);
    rows.push(loadRow('ORT in-process silero-vad c=1', ortRes));
    metrics['ortC1P50Ms'] = ortRes.latency.p50;

    ctx.log('throughput: bare grpc-js echo in another process');
    const echo = await spawnReady<{ grpc: string }>(ECHO_CHILD, []);
    try {
      await measureAll(echo.ready.grpc, ECHO_PATH, payload, [{ role: 'echo', pid: echo.pid }], ctx, (m) => record('echo', 'bare grpc-js echo (another process)', m));
    } finally {
      await echo.stop();
    }

    const baseline = process.env['PLEXUS_BENCH_BASELINE'];
    const builds = [
      ...(baseline === undefined || baseline === '' ? [] : [{ tag: 'before', label: `${process.env['PLEXUS_BENCH_BASELINE_LABEL'] ?? `before (${baseline})`}: `, bin: join(baseline, 'bin/plexus') }]),
      { tag: '', label: '', bin: undefined },
    ];
    for (const b of builds) {
      ctx.log(`throughput: local node ${b.label}`);
      const local = await spawnDaemon({ models: [sileroSpec()], bin: b.bin });
      try {
        await checkAnswers(local.grpc, payload);
        await measureAll(local.grpc, MODEL_INFER_PATH, payload, [{ role: 'node', pid: local.pid }], ctx, (m) => record(`${b.tag}local`, `${b.label}Plexus node, model local`, m));
      } finally {
        await local.stop();
      }
      ctx.log(`throughput: pure router, model one hop away ${b.label}`);
      const line: DaemonProc[] = await startLine(2, b.bin);
      try {
        const [router, provider] = line as [DaemonProc, DaemonProc];
        await checkAnswers(router.grpc, payload);
        const procs = [{ role: 'router', pid: router.pid }, { role: 'provider', pid: provider.pid }];
        await measureAll(router.grpc, MODEL_INFER_PATH, payload, procs, ctx, (m) => record(`${b.tag}router`, `${b.label}Plexus router, model one hop away`, m));
      } finally {
        await stopAll(line);
      }
    }

    const echoQps = metrics['echoC64Qps'];
    const echoP50 = metrics['echoC1P50Ms'];
    const localP50 = metrics['localC1P50Ms'];
    metrics['localVsEchoC64'] = round(ratio(metrics['localC64Qps'], echoQps));
    metrics['routerVsEchoC64'] = round(ratio(metrics['routerC64Qps'], echoQps));
    if (metrics['beforelocalC64Qps'] !== undefined) {
      metrics['beforeLocalVsEchoC64'] = round(ratio(metrics['beforelocalC64Qps'], echoQps));
      metrics['beforeRouterVsEchoC64'] = round(ratio(metrics['beforerouterC64Qps'], echoQps));
      notes.push(`before: c=64 throughput vs the echo: local ${metrics['beforeLocalVsEchoC64'] ?? '–'}×, router ${metrics['beforeRouterVsEchoC64'] ?? '–'}×.`);
    }
    const localOverhead = localP50 == null || ortRes.latency.p50 === null ? null : localP50 - ortRes.latency.p50;
    const hop = metrics['routerC1P50Ms'] == null || localP50 == null ? null : (metrics['routerC1P50Ms'] ?? 0) - localP50;
    metrics['localOverheadC1Ms'] = round(localOverhead);
    metrics['hopC1Ms'] = round(hop);
    metrics['localOverheadVsEchoRtt'] = round(ratio(localOverhead, echoP50));
    metrics['hopVsEchoRtt'] = round(ratio(hop, echoP50));
    notes.push(
      `c=64 throughput vs the echo: local ${metrics['localVsEchoC64'] ?? '–'}×, router ${metrics['routerVsEchoC64'] ?? '–'}×.`,
      `c=1 p50: local overhead over in-process ORT ${metrics['localOverheadC1Ms'] ?? '–'} ms = ${metrics['localOverheadVsEchoRtt'] ?? '–'}× the echo round trip (${round(echoP50 ?? null) ?? '–'} ms); a hop ${metrics['hopC1Ms'] ?? '–'} ms = ${metrics['hopVsEchoRtt'] ?? '–'}×.`,
      'cpuMsPerQuery: CPU ms per query of each process over the window (utime+stime from /proc; the caller from process.cpuUsage), threads included.',
      'syscallsPerQuery: read- and write-type system calls per query of each process (syscr+syscw, /proc/PID/io); tcpSegmentsPerQuery: TCP segments the machine sent per query (/proc/net/snmp OutSegs).',
    );
    return { name: 'throughput', title: this.title, status: 'ok', durationMs: performance.now() - started, columns, rows, metrics, notes };
  },
};
