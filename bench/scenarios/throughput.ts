// Scenario: what a node costs per query, side by side in one run (issue 13). The same request
// bytes (one raw silero-vad window, serialized once) go to
//  - a bare grpc-js echo server in another process (the limit),
//  - a Plexus node hosting the model (local),
//  - a Plexus node hosting nothing, one hop from the provider (a pure router),
// from one raw-bytes caller in this process (bench/raw-grpc.ts: no encoding or decoding per
// call, so the load generator costs the same for every target), at c=1 and c=64. Per process:
// CPU time per query (utime+stime from /proc over the window ÷ calls), the caller's included.
// ORT in-process (c=1, back to back) gives the model's own time for the overhead rows.
// Counts beside the times, steadier where CPU time moves with the machine's other work: read and
// write system calls per query of each process (/proc/PID/io; these still move with how much
// one read finds) and TCP segments per query (the machine's, /proc/net/snmp: every hop's data,
// headers and acknowledgements; the same in every run at c=1).
// PLEXUS_BENCH_BASELINE=<another checkout, built> adds its local and router rows ("before", or
// PLEXUS_BENCH_BASELINE_LABEL): both builds' targets run side by side and their windows go
// before, after, after, before (throughput-windows.ts), so the machine's drift weighs on both.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { libp2pRoundTrips, workerRoundTrips } from '../floors.ts';
import { closedLoop, type LoadResult } from '../load.ts';
import { decodeInferResponse, MODEL_INFER_PATH, rawCaller, sileroRequestBytes } from '../raw-grpc.ts';
import { SILERO_MODEL, sileroFeeds, sileroModelPath } from '../models/silero.ts';
import { requireProjectFiles, spawnDaemon, spawnReady, stopAll, type DaemonProc } from '../procs.ts';
import { loadRow, LOAD_COLUMNS } from '../rows.ts';
import { ratio, round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';
import { sileroSpec, startLine } from './plexus.ts';
import { meanOf, measureBuilds, windows, type Build, type Measured, type Started } from './throughput-windows.ts';

const ECHO_CHILD = fileURLToPath(new URL('../echo-child.ts', import.meta.url));
const ECHO_PATH = '/plexus.bench.Echo/Echo';
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

async function startEcho(): Promise<Started> {
  const echo = await spawnReady<{ grpc: string }>(ECHO_CHILD, []);
  return { address: echo.ready.grpc, procs: [{ role: 'echo', pid: echo.pid }], stop: () => echo.stop() };
}

async function startLocal(b: Build): Promise<Started> {
  const d = await spawnDaemon({ models: [sileroSpec()], bin: b.bin });
  return { address: d.grpc, procs: [{ role: 'node', pid: d.pid }], stop: () => d.stop() };
}

async function startRouter(b: Build): Promise<Started> {
  const line: DaemonProc[] = await startLine(2, b.bin);
  const [router, provider] = line as [DaemonProc, DaemonProc];
  return { address: router.grpc, procs: [{ role: 'router', pid: router.pid }, { role: 'provider', pid: provider.pid }], stop: () => stopAll(line) };
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
    // One row per window; the metrics are the mean of a build's windows (two with a baseline).
    const record = (key: string, label: string, ms: readonly Measured[]): void => {
      const first = ms[0];
      if (first === undefined) return;
      const c = first.load.concurrency;
      ms.forEach((m, i) => {
        rows.push(loadRow(`${label} c=${c}${ms.length > 1 ? ` (window ${i + 1} of ${ms.length})` : ''}`, m.load, {
          cpuMsPerQuery: perRoleText(m.cpuMsPerQuery), syscallsPerQuery: perRoleText(m.syscallsPerQuery), tcpSegmentsPerQuery: m.tcpSegmentsPerQuery, rssMbAfter: perRoleText(m.rssMb),
        }));
        if (m.load.errors > 0) notes.push(`${label} c=${c}: ${m.load.errors} errors, first: ${m.load.firstError ?? '?'}`);
      });
      metrics[`${key}C${c}Qps`] = meanOf(ms.map((m) => m.load.qps));
      metrics[`${key}C${c}P50Ms`] = meanOf(ms.map((m) => m.load.latency.p50));
      metrics[`${key}C${c}Errors`] = ms.reduce((n, m) => n + m.load.errors, 0);
      for (const role of Object.keys(first.cpuMsPerQuery)) metrics[`${key}C${c}Cpu_${role}`] = meanOf(ms.map((m) => m.cpuMsPerQuery[role]));
      for (const role of Object.keys(first.syscallsPerQuery)) metrics[`${key}C${c}Syscalls_${role}`] = meanOf(ms.map((m) => m.syscallsPerQuery[role]));
      metrics[`${key}C${c}TcpSegments`] = meanOf(ms.map((m) => m.tcpSegmentsPerQuery));
    };

    ctx.log('throughput: in-process ORT, c=1');
    const ortRes = await ortC1(ctx);
    rows.push(loadRow('ORT in-process silero-vad c=1', ortRes));
    metrics['ortC1P50Ms'] = ortRes.latency.p50;

    ctx.log('throughput: a bare worker-thread round trip, c=1');
    const workerRes = await workerRoundTrips(windows(ctx));
    rows.push(loadRow('bare worker-thread round trip, no work (this process) c=1', workerRes));
    metrics['workerRttC1P50Ms'] = workerRes.latency.p50;

    ctx.log('throughput: a bare libp2p round trip to another process, c=1');
    const p2pEcho = await spawnReady<{ libp2p: string[] }>(ECHO_CHILD, []);
    let p2pRes: LoadResult;
    try {
      p2pRes = await libp2pRoundTrips(windows(ctx), p2pEcho.ready.libp2p);
    } finally {
      await p2pEcho.stop();
    }
    rows.push(loadRow('bare libp2p round trip (another process) c=1', p2pRes));
    metrics['libp2pRttC1P50Ms'] = p2pRes.latency.p50;

    ctx.log('throughput: bare grpc-js echo in another process');
    await measureBuilds([{ tag: 'echo', label: '', bin: undefined }], startEcho, ECHO_PATH, payload, ctx, (_, ms) => record('echo', 'bare grpc-js echo (another process)', ms));

    const baseline = process.env['PLEXUS_BENCH_BASELINE'];
    const builds: Build[] = [
      ...(baseline === undefined || baseline === '' ? [] : [{ tag: 'before', label: `${process.env['PLEXUS_BENCH_BASELINE_LABEL'] ?? `before (${baseline})`}: `, bin: join(baseline, 'bin/plexus') }]),
      { tag: '', label: '', bin: undefined },
    ];
    if (builds.length > 1) notes.push('With a baseline, each target of both builds runs side by side and their windows alternate before, after, after, before at each concurrency; a row per window, the metrics the mean of the two.');
    const targets: { key: string; title: string; start(b: Build): Promise<Started> }[] = [
      { key: 'local', title: 'Plexus node, model local', start: startLocal },
      { key: 'router', title: 'Plexus router, model one hop away', start: startRouter },
    ];
    for (const t of targets) {
      ctx.log(`throughput: ${t.title}`);
      const start = async (b: Build): Promise<Started> => {
        const s = await t.start(b);
        try {
          await checkAnswers(s.address, payload);
        } catch (e) {
          await s.stop();
          throw e;
        }
        return s;
      };
      await measureBuilds(builds, start, MODEL_INFER_PATH, payload, ctx, (b, ms) => record(`${b.tag}${t.key}`, `${b.label}${t.title}`, ms));
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
    // The echo's own round trip (a node answers over the same grpc-js) plus the worker hop, which
    // a node whose models run off its event loop cannot skip: the least a local query can add.
    metrics['localOverheadFloorVsEchoRtt'] = round(ratio(echoP50 == null || workerRes.latency.p50 === null ? null : echoP50 + workerRes.latency.p50, echoP50));
    // A hop's floor: the bare libp2p round trip, before a router or provider does any work.
    metrics['hopFloorVsEchoRtt'] = round(ratio(p2pRes.latency.p50, echoP50));
    notes.push(
      `c=64 throughput vs the echo: local ${metrics['localVsEchoC64'] ?? '–'}×, router ${metrics['routerVsEchoC64'] ?? '–'}×.`,
      `c=1 p50: local overhead over in-process ORT ${metrics['localOverheadC1Ms'] ?? '–'} ms = ${metrics['localOverheadVsEchoRtt'] ?? '–'}× the echo round trip (${round(echoP50 ?? null) ?? '–'} ms); a hop ${metrics['hopC1Ms'] ?? '–'} ms = ${metrics['hopVsEchoRtt'] ?? '–'}×. Floor of the local overhead: the echo round trip plus a bare worker round trip (${round(workerRes.latency.p50) ?? '–'} ms) = ${metrics['localOverheadFloorVsEchoRtt'] ?? '–'}× the echo round trip; of a hop: a bare libp2p round trip (${round(p2pRes.latency.p50) ?? '–'} ms) = ${metrics['hopFloorVsEchoRtt'] ?? '–'}×.`,
      'cpuMsPerQuery: CPU ms per query of each process over the window (utime+stime from /proc; the caller from process.cpuUsage), threads included.',
      'syscallsPerQuery: read- and write-type system calls per query of each process (syscr+syscw, /proc/PID/io); tcpSegmentsPerQuery: TCP segments the machine sent per query (/proc/net/snmp OutSegs).',
    );
    return { name: 'throughput', title: this.title, status: 'ok', durationMs: performance.now() - started, columns, rows, metrics, notes };
  },
};
