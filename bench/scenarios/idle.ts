// Scenario: what a quiet cluster costs. 20 daemons on this machine (19 hosting nothing, one
// leaf hosting silero-vad so there is a route to lose), joined as a bootstrap tree, no queries.
// After a settle time, over a window (60 s; 20 s with --quick):
//  - CPU: utime+stime of every daemon from /proc/<pid>/stat, summed, ÷ window = cores in use;
//  - control-plane bytes: TCP bytes each daemon sent (`ss -tinp` bytes_sent of its sockets)
//    ÷ window ÷ daemons = bytes/s per node;
//  - memory: RSS of the no-model daemons at the end of the window;
// then the model leaf is SIGKILLed and we time until its bootstrap neighbour no longer lists a
// route to it (and until no node does). PLEXUS_BENCH_BASELINE=<another checkout> runs the same
// cluster from that checkout's bin/plexus first (a "before" row in the same run).
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { createPlexusAdminClient, type PlexusAdminClient } from '../plexus-client.ts';
import { cpuSeconds, requireProjectFiles, rssMb, spawnDaemon, stopAll, tcpBytesSent, tcpConnectionCounts, type ChildSpec, type DaemonProc } from '../procs.ts';
import { round, summarize } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';
import { sileroSpec } from './plexus.ts';

/** Quiet time before the window, counted from the last daemon's start: past the 90 s after which an unscraped node stops its event-loop monitor (src/node/event-loop-metrics.ts), so the window is steady state. */
const SETTLE_MS = 95_000;
const CAP = 'bench.idle';
/** 20 Node processes starting on a small shared machine: give each longer than the default 60 s. */
const READY_MS = 180_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function nodeSpec(parent: DaemonProc | undefined): ChildSpec['node'] {
  return { p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: parent === undefined ? [] : parent.listenAddrs.slice(0, 1) } };
}

/** Polls `clients` every 25 ms until none lists `origin`; ms from t0 when each got there (by index). */
async function untilGone(clients: readonly PlexusAdminClient[], origin: string, t0: number, timeoutMs: number): Promise<number[]> {
  const at = clients.map(() => Number.NaN);
  while (at.some((v) => Number.isNaN(v))) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`a crashed node's routes were still listed ${timeoutMs} ms after the crash`);
    await Promise.all(clients.map(async (c, i) => {
      if (!Number.isNaN(at[i])) return;
      try {
        if (!(await c.routes()).some((r) => r.origin === origin)) at[i] = performance.now() - t0;
      } catch {
        // busy: ask again
      }
    }));
    await sleep(25);
  }
  return at;
}

async function untilAllKnow(clients: readonly PlexusAdminClient[], origin: string, timeoutMs: number): Promise<void> {
  const t0 = performance.now();
  let why = '';
  for (;;) {
    const ok = await Promise.all(clients.map((c) => c.routes().then((rs) => rs.some((r) => r.origin === origin), (e: unknown) => { why = (e as Error).message; return false; })));
    if (ok.every(Boolean)) return;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${ok.filter((v) => !v).length} of ${clients.length} nodes never learned the model leaf's route${why === '' ? '' : ` (${why})`}`);
    await sleep(200);
  }
}

interface Measured {
  cores: number; bytesPerNodeS: number; rssP50: number; rssMax: number; goneNeighbourMs: number; goneAllMs: number; coresMax: number;
  /** CPU seconds each daemon used in the window (less sensitive to the machine's load than cores). */
  cpuSecP50: number; cpuSecMax: number;
  /** TCP connections each daemon holds at the end of the window (its neighbours, both directions counted once each). */
  connsP50: number; connsMax: number;
}

async function measureCluster(bin: string | undefined, N: number, windowMs: number, ctx: ScenarioContext): Promise<Measured> {
  const procs: DaemonProc[] = [];
  const clients: PlexusAdminClient[] = [];
  try {
    // A binary tree of bootstrap links (node i knows node floor((i-1)/2)), two started at a time;
    // the last node hosts the model.
    procs.push(await spawnDaemon({ models: [], node: nodeSpec(undefined), bin }, READY_MS));
    let lastStart = 0;
    for (let i = 1; i < N; i += 2) {
      const batch = [i, i + 1].filter((k) => k < N).map((k) => spawnDaemon({
        models: k === N - 1 ? [sileroSpec({ capabilities: [CAP] })] : [], node: nodeSpec(procs[Math.floor((k - 1) / 2)]), bin,
      }, READY_MS));
      procs.push(...await Promise.all(batch));
      lastStart = performance.now();
    }
    clients.push(...procs.map((p) => createPlexusAdminClient(p.grpc)));
    const leaf = procs[N - 1] as DaemonProc;
    await untilAllKnow(clients, leaf.peerId, 120_000);
    await sleep(Math.max(0, lastStart + SETTLE_MS - performance.now()));

    const cpu0 = procs.map((p) => cpuSeconds(p.pid));
    const pids = procs.map((p) => p.pid);
    const w0 = tcpBytesSent(pids);
    const t0 = performance.now();
    await sleep(windowMs);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = procs.map((p, i) => (cpuSeconds(p.pid) ?? Number.NaN) - (cpu0[i] ?? Number.NaN));
    const w1 = tcpBytesSent(pids);
    const written = pids.map((p) => (w1?.get(p) ?? Number.NaN) - (w0?.get(p) ?? Number.NaN));
    const rss = procs.slice(0, -1).map((p) => rssMb(p.pid)).filter((v): v is number => v !== null);
    const conns = summarize([...(tcpConnectionCounts(pids)?.values() ?? [])]);
    const cs = summarize(cpu);
    ctx.log(`idle: ${bin ?? 'this tree'}: ${round(cpu.reduce((a, b) => a + b, 0) / seconds)} cores over ${round(seconds)} s`);

    const parent = Math.floor((N - 2) / 2);
    leaf.kill();
    const tKill = performance.now();
    const gone = await untilGone(clients.slice(0, -1), leaf.peerId, tKill, 30_000);

    const rs = summarize(rss);
    return {
      cores: cpu.reduce((a, b) => a + b, 0) / seconds, coresMax: Math.max(...cpu) / seconds,
      bytesPerNodeS: written.reduce((a, b) => a + b, 0) / seconds / N,
      rssP50: rs.p50, rssMax: rs.max, cpuSecP50: cs.p50, cpuSecMax: cs.max, connsP50: conns.p50, connsMax: conns.max, goneNeighbourMs: gone[parent] as number, goneAllMs: Math.max(...gone),
    };
  } finally {
    for (const c of clients) c.close();
    await stopAll(procs);
  }
}

export const idleScenario: Scenario = {
  name: 'idle',
  title: 'Idle: 20 daemons (10 with --quick), no traffic: CPU, control-plane bytes, RSS, and a crashed neighbour\'s routes gone',
  async run(ctx): Promise<ScenarioResult> {
    requireProjectFiles(['src/node/p2p/service.ts']);
    const started = performance.now();
    // Quick: 10 daemons and a 20 s window (a small machine shared with other work could not start 20 and keep them all answering).
    const windowMs = ctx.quick ? 20_000 : 60_000;
    const n = ctx.quick ? 10 : 20;
    const baseline = process.env['PLEXUS_BENCH_BASELINE'];
    const builds: { label: string; bin: string | undefined }[] = [
      ...(baseline === undefined || baseline === '' ? [] : [{ label: `before (${baseline})`, bin: join(baseline, 'bin/plexus') }]),
      { label: 'this tree', bin: undefined },
    ];
    const rows: ResultRow[] = [];
    const metrics: Record<string, number | null> = {};
    for (const b of builds) {
      const m = await measureCluster(b.bin, n, windowMs, ctx);
      rows.push({
        label: `${b.label}, ${n} daemons`,
        values: {
          coresTotal: round(m.cores), coresMaxDaemon: round(m.coresMax), cpuSecP50: round(m.cpuSecP50), cpuSecMax: round(m.cpuSecMax),
          bytesPerNodeS: Math.round(m.bytesPerNodeS), connsP50: m.connsP50, connsMax: m.connsMax,
          rssMbP50: round(m.rssP50), rssMbMax: round(m.rssMax), goneAtNeighbourMs: round(m.goneNeighbourMs), goneEverywhereMs: round(m.goneAllMs),
        },
      });
      const k = b.bin === undefined ? '' : 'Before';
      metrics[`idleCores${k}`] = round(m.cores);
      metrics[`idleBytesPerNodeS${k}`] = Math.round(m.bytesPerNodeS);
      metrics[`idleRssMb${k}`] = round(m.rssP50);
      metrics[`idleDeadGoneMs${k}`] = round(m.goneNeighbourMs);
      metrics[`idleDaemons${k}`] = n;
      metrics[`idleCpuSecP50${k}`] = round(m.cpuSecP50);
      metrics[`idleConnsP50${k}`] = m.connsP50;
    }
    return {
      name: 'idle', title: this.title, status: 'ok', durationMs: performance.now() - started,
      columns: ['coresTotal', 'coresMaxDaemon', 'cpuSecP50', 'cpuSecMax', 'bytesPerNodeS', 'connsP50', 'connsMax', 'rssMbP50', 'rssMbMax', 'goneAtNeighbourMs', 'goneEverywhereMs'], rows, metrics,
      notes: [
        `${n} daemons; window ${windowMs / 1000} s, from ${SETTLE_MS / 1000} s after the last daemon started (and all 20 know the model leaf's route). coresTotal = Σ (utime+stime) over the window ÷ window (/proc/<pid>/stat, 10 ms ticks).`,
        'cpuSecP50/Max: CPU seconds one daemon used over the window (median, most). connsP50/Max: established TCP connections per daemon at the end of the window (ss), i.e. its neighbours.',
        'bytesPerNodeS = Σ TCP bytes_sent of the daemons\' sockets (ss -tinp) over the window ÷ window ÷ daemons: libp2p (routes, pings, muxer keepalive, Noise framing); no queries run.',
        `rssMb: the no-model daemons at the end of the window (${windowMs / 1000} s + settle idle; the issue's 10-minute figure needs --only idle with a longer window, not run by default).`,
        'goneAtNeighbourMs: from SIGKILL of the model leaf until its bootstrap parent\'s GetRoutes no longer lists it (polled every 25 ms); goneEverywhereMs: until no node lists it.',
      ],
    };
  },
};
