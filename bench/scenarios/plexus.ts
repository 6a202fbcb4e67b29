// Scenario 2: queries through real Plexus daemons (subprocesses) over KServe v2 gRPC, on raw
// silero-vad: to the local node, through 1 hop and 2 hops (static line topologies), at
// concurrency 1, 8 and 64. Per node: CPU% over the window (from /proc) and RSS.
import { performance } from 'node:perf_hooks';
import { closedLoop, type LoadResult } from '../load.ts';
import { createKServeClient, sileroInferRequest } from '../kserve-client.ts';
import { sileroModelPath, SILERO_MODEL } from '../models/silero.ts';
import { cpuSeconds, requireProjectFiles, rssMb, spawnDaemon, stopAll, type DaemonProc } from '../procs.ts';
import { loadRow, LOAD_COLUMNS } from '../rows.ts';
import { round } from '../stats.ts';
import { SILERO_VAD_BATCHING } from '../../src/inference/config.ts';
import type { ChildSpec } from '../procs.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';

const CONCURRENCY = [1, 8, 64] as const;

export function sileroSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  // One intra-op thread, like the in-process ORT loop of the limits scenario.
  return { name: SILERO_MODEL, path: sileroModelPath(), session: { intraOpThreads: 1, interOpThreads: 1 }, maxQueue: 1024, ...extra };
}

/** sileroSpec with the dynamic batching the embedded default's silero-vad has (SILERO_VAD_BATCHING). */
export function batchedSileroSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return sileroSpec({ batching: SILERO_VAD_BATCHING, ...extra });
}

interface Measured { readonly load: LoadResult; readonly cpuPct: (number | null)[]; readonly rss: (number | null)[] }

async function measure(entry: DaemonProc, nodes: readonly DaemonProc[], c: number, ctx: ScenarioContext): Promise<Measured> {
  const client = createKServeClient(entry.grpc);
  const request = sileroInferRequest(SILERO_MODEL);
  try {
    const durationMs = ctx.quick ? 2000 : 10_000;
    const warmupMs = ctx.quick ? 400 : 2000;
    // CPU over warm-up + window, divided by that wall time: close enough, and no timers inside the loop.
    const cpu0 = nodes.map((n) => cpuSeconds(n.pid));
    const t0 = performance.now();
    const load = await closedLoop(async () => { await client.infer(request); }, { concurrency: c, durationMs, warmupMs });
    const wallS = (performance.now() - t0) / 1000;
    const cpuPct = nodes.map((n, i) => {
      const a = cpu0[i];
      const b = cpuSeconds(n.pid);
      return a === null || a === undefined || b === null ? null : round((100 * (b - a)) / wallS);
    });
    return { load, cpuPct, rss: nodes.map((n) => round(rssMb(n.pid))) };
  } finally {
    client.close();
  }
}

function fmtList(xs: readonly (number | null)[]): string {
  return xs.map((x) => (x === null ? '–' : String(x))).join(' / ');
}

export const plexusScenario: Scenario = {
  name: 'plexus',
  title: '2. Plexus: local, 1 hop, 2 hops (real daemons, gRPC ModelInfer on silero-vad)',
  async run(ctx): Promise<ScenarioResult> {
    requireProjectFiles(['src/node/daemon.ts', 'src/node/options.ts', 'src/inference/index.ts']);
    const started = performance.now();
    const rows: ResultRow[] = [];
    const metrics: Record<string, number | null> = {};
    const notes: string[] = ['cpu% and RSS are per daemon, entry node first; the load generator runs in the bench process.'];
    const columns = [...LOAD_COLUMNS, 'cpuPctPerNode', 'rssMbPerNode'];

    const record = (topo: string, key: string, m: Measured): void => {
      rows.push(loadRow(`${topo} c=${m.load.concurrency}`, m.load, { cpuPctPerNode: fmtList(m.cpuPct), rssMbPerNode: fmtList(m.rss) }));
      metrics[`${key}C${m.load.concurrency}P50Ms`] = m.load.latency.p50;
      metrics[`${key}C${m.load.concurrency}P99Ms`] = m.load.latency.p99;
      metrics[`${key}C${m.load.concurrency}Qps`] = m.load.qps;
      if (m.load.errors > 0) notes.push(`${topo} c=${m.load.concurrency}: ${m.load.errors} errors, first: ${m.load.firstError ?? '?'}`);
    };

    ctx.log('plexus: local node');
    const local = await spawnDaemon({ models: [sileroSpec()] });
    try {
      for (const c of CONCURRENCY) record('local', 'local', await measure(local, [local], c, ctx));
    } finally {
      await local.stop();
    }

    const hops = await lineTopologies(ctx);
    if (typeof hops === 'string') notes.push(`1 hop / 2 hops: skipped: ${hops}`);
    else {
      for (const [name, nodes] of hops) {
        try {
          const entry = nodes[0] as DaemonProc;
          for (const c of CONCURRENCY) record(name, name === '1 hop' ? 'hop1' : 'hop2', await measure(entry, nodes, c, ctx));
        } finally {
          await stopAll(nodes);
        }
      }
    }
    return { name: 'plexus', title: this.title, status: 'ok', durationMs: performance.now() - started, columns, rows, metrics, notes };
  },
};

/**
 * Line topologies entry -> ... -> provider, built from daemons whose only peer is the next one.
 * Returns why not when the daemon has no libp2p layer yet.
 */
async function lineTopologies(ctx: ScenarioContext): Promise<string | [string, DaemonProc[]][]> {
  const probe = await spawnDaemon({ models: [] });
  const hasP2p = probe.peerId !== '';
  await probe.stop();
  if (!hasP2p) return 'the daemon has no libp2p layer yet (peerId() is empty), so there is nothing to hop through';
  ctx.log('plexus: line topologies');
  const out: [string, DaemonProc[]][] = [];
  for (const length of [2, 3]) out.push([length === 2 ? '1 hop' : '2 hops', await startLine(length)]);
  return out;
}

/**
 * A static line of `length` daemons, the first the entry and the last serving `model`: the
 * provider starts first, then each node bootstrapping to the one after it.
 */
export async function startLine(length: number, bin?: string, model: Record<string, unknown> = sileroSpec()): Promise<DaemonProc[]> {
  const nodes: DaemonProc[] = [];
  const provider = await spawnDaemon({ models: [model], node: p2pNode([]), bin });
  nodes.unshift(provider);
  for (let i = 1; i < length; i++) {
    const next = nodes[0] as DaemonProc;
    nodes.unshift(await spawnDaemon({ models: [], node: p2pNode([next]), bin }));
  }
  await waitForRoute(nodes[0] as DaemonProc, SILERO_MODEL, 30_000);
  return nodes;
}

/**
 * The `node:` config section for a daemon listening on loopback and dialing only `peers`
 * (static: a line stays a line instead of meshing through learned addresses).
 */
export function p2pNode(peers: readonly DaemonProc[]): ChildSpec['node'] {
  return { p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: peers.flatMap((p) => p.listenAddrs), static: true } };
}

/** Poll ModelInfer until the entry node can answer (its table learned the route). */
export async function waitForRoute(entry: DaemonProc, model: string, timeoutMs: number): Promise<number> {
  const client = createKServeClient(entry.grpc);
  const t0 = performance.now();
  try {
    for (;;) {
      try {
        await client.infer(sileroInferRequest(model), 2000);
        return performance.now() - t0;
      } catch (e) {
        if (performance.now() - t0 > timeoutMs) throw new Error(`no route to ${model} from ${entry.grpc} after ${timeoutMs} ms: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  } finally {
    client.close();
  }
}
