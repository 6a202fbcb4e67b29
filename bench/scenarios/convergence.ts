// Scenario 5: convergence with real daemons (subprocesses, loopback TCP). For N = 5, 10, 20:
// N-1 daemons joined as a bootstrap tree (each knows one earlier node; they find the rest
// through route updates), node 0 hosting silero-vad as `bench.conv`. Then:
//  - a new daemon X joins at the far end of the tree hosting `bench.conv` and `bench.new`;
//    we time from its READY line until every node's GetRoutes lists `bench.new`;
//  - under steady load at node 1 for `bench.conv` (served by node 0 and X), X is SIGKILLed
//    (a crash: no withdrawal); we time until no node lists a route through or to X, and count
//    the queries that failed (failover should retry them on node 0: 0 lost).
// Polling costs CPU on the same 2 cores: every node is asked every ~25 ms (so figures are ±25 ms).
import { performance } from 'node:perf_hooks';
import { createKServeClient, sileroInferRequest } from '../kserve-client.ts';
import { createPlexusAdminClient, type PlexusAdminClient } from '../plexus-client.ts';
import { cpuSeconds, requireProjectFiles, rssMb, spawnDaemon, spawnMany, stopAll, type DaemonProc } from '../procs.ts';
import { round, summarize } from '../stats.ts';
import type { ChildSpec } from '../procs.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';
import { sileroSpec } from './plexus.ts';

const CONV = 'bench.conv';
const NEW = 'bench.new';

function node(peers: readonly DaemonProc[]): ChildSpec['node'] {
  return { p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: peers.flatMap((p) => p.listenAddrs.slice(0, 1)) } };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll every client until `done(routes)` holds for all; ms since `t0` when the last one got there. */
async function untilAll(clients: readonly PlexusAdminClient[], done: (origins: Set<string>, caps: Set<string>) => boolean, t0: number, timeoutMs: number): Promise<number> {
  const pending = new Set(clients.keys());
  let last = 0;
  while (pending.size > 0) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`${pending.size} of ${clients.length} nodes did not converge in ${timeoutMs} ms`);
    await Promise.all([...pending].map(async (i) => {
      try {
        const routes = await (clients[i] as PlexusAdminClient).routes();
        const origins = new Set(routes.map((r) => r.origin));
        const caps = new Set(routes.flatMap((r) => r.capabilities));
        if (done(origins, caps)) {
          pending.delete(i);
          last = Math.max(last, performance.now() - t0);
        }
      } catch {
        // A node busy starting up: ask again next round.
      }
    }));
    await sleep(25);
  }
  return last;
}

interface Round { n: number; capsMs: number; goneMs: number; lost: number; servedByXBefore: number; calls: number; rssMb: number | null; rssMaxMb: number | null; up: number; errors: string[] }

async function measureN(n: number, ctx: ScenarioContext): Promise<Round> {
  ctx.log(`convergence: ${n} daemons`);
  const procs: DaemonProc[] = [];
  const clients: PlexusAdminClient[] = [];
  try {
    procs.push(await spawnDaemon({ models: [sileroSpec({ capabilities: [CONV], maxQueue: 256 })], node: node([]) }));
    // A binary tree of bootstrap links: node i knows only node floor((i-1)/2).
    for (let i = 1; i < n - 1; i += 2) {
      const batch = [i, i + 1].filter((k) => k < n - 1).map((k) => spawnDaemon({ models: [], node: node([procs[Math.floor((k - 1) / 2)] as DaemonProc]) }));
      procs.push(...await Promise.all(batch));
    }
    clients.push(...procs.map((p) => createPlexusAdminClient(p.grpc)));
    await untilAll(clients, (o) => o.has((procs[0] as DaemonProc).peerId), performance.now(), 30_000);

    const far = procs[procs.length - 1] as DaemonProc;
    const x = await spawnDaemon({ models: [sileroSpec({ capabilities: [CONV, NEW], maxQueue: 256 })], node: node([far]) });
    const tReady = performance.now();
    procs.push(x);
    clients.push(createPlexusAdminClient(x.grpc));
    const capsMs = await untilAll(clients, (_o, caps) => caps.has(NEW), tReady, 30_000);

    // Steady load at node 1 (or 0 when n is tiny), then X crashes.
    const entry = procs[Math.min(1, procs.length - 2)] as DaemonProc;
    const client = createKServeClient(entry.grpc);
    let stop = false;
    let calls = 0;
    let lost = 0;
    let servedByX = 0;
    let killed = false;
    const errors: string[] = [];
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await client.infer(sileroInferRequest(CONV, { 'plexus.prefer': { string_param: 'latency' } }), 10_000) as { parameters?: Record<string, { string_param?: string }> };
          if (!killed && res.parameters?.['plexus.served_by']?.string_param === x.peerId) servedByX++;
        } catch (e) {
          lost++;
          const msg = (e as Error).message.slice(0, 200);
          if (errors.length < 3 && !errors.includes(msg)) errors.push(msg);
        }
        calls++;
      }
    };
    const workers = Array.from({ length: 4 }, () => worker());
    await sleep(ctx.quick ? 800 : 2000);
    // All n daemons running together, under load: how many answer?
    const up = (await Promise.all(clients.map((c) => c.ping(5000).then(() => 1, () => 0)))).reduce((a: number, b) => a + b, 0);
    const others = clients.slice(0, -1);
    x.kill();
    killed = true;
    const tKill = performance.now();
    const goneMs = await untilAll(others, (o) => !o.has(x.peerId), tKill, 15_000);
    await sleep(500);
    stop = true;
    await Promise.all(workers);
    client.close();
    const rss = procs.slice(1, -1).map((p) => rssMb(p.pid)).filter((v): v is number => v !== null);
    return { n, capsMs, goneMs, lost, servedByXBefore: servedByX, calls, rssMb: rss.length ? round(summarize(rss).p50) : null, rssMaxMb: rss.length ? round(summarize(rss).max) : null, up, errors };
  } finally {
    for (const c of clients) c.close();
    await stopAll(procs);
  }
}

export const convergenceScenario: Scenario = {
  name: 'convergence',
  title: '5. Convergence: new capability known cluster-wide; a crashed node\'s routes gone; queries lost (real daemons)',
  async run(ctx): Promise<ScenarioResult> {
    requireProjectFiles(['src/node/p2p/service.ts']);
    const started = performance.now();
    const rows: ResultRow[] = [];
    const metrics: Record<string, number | null> = {};
    let worstGone = 0;
    let totalLost = 0;
    const errorNotes: string[] = [];
    for (const n of ctx.quick ? [5, 20] : [5, 10, 20]) {
      const r = await measureN(n, ctx);
      rows.push({
        label: `${n} nodes`,
        values: { capsKnownMs: round(r.capsMs), deadRoutesGoneMs: round(r.goneMs), queries: r.calls, lost: r.lost, servedByCrashedBefore: r.servedByXBefore, routerRssMbP50: r.rssMb },
      });
      metrics[`capsMsN${n}`] = round(r.capsMs);
      metrics[`deadGoneMsN${n}`] = round(r.goneMs);
      metrics[`routerRssMbN${n}`] = r.rssMb;
      metrics[`routerRssMaxMbN${n}`] = r.rssMaxMb;
      metrics[`daemonsUpN${n}`] = r.up;
      worstGone = Math.max(worstGone, r.goneMs);
      totalLost += r.lost;
      for (const e of r.errors) errorNotes.push(`${n} nodes, a lost query: ${e}`);
    }
    metrics['deadRoutesGoneMs'] = round(worstGone);
    metrics['lostQueries'] = totalLost;
    return {
      name: 'convergence', title: this.title, status: 'ok', durationMs: performance.now() - started,
      columns: ['capsKnownMs', 'deadRoutesGoneMs', 'queries', 'lost', 'servedByCrashedBefore', 'routerRssMbP50'], rows, metrics,
      notes: [
        'capsKnownMs: from the new daemon\'s READY line until every node\'s GetRoutes lists its new capability (polled every ~25 ms).',
        'deadRoutesGoneMs: from SIGKILL until no node lists a route to the crashed daemon. lost: failed queries of 4 closed-loop workers at node 1 across the crash.',
        'servedByCrashedBefore: queries the crashed daemon answered before it died (it carried traffic).',
        ...errorNotes,
      ],
    };
  },
};

/** Footprint: 20 daemons hosting nothing, joined in a tree; RSS each and how many answer. */
export const footprintScenario: Scenario = {
  name: 'footprint',
  title: '6b. Footprint: 20 router daemons (no models) on this machine',
  async run(ctx): Promise<ScenarioResult> {
    requireProjectFiles(['src/node/p2p/service.ts']);
    const started = performance.now();
    // Quick runs take the figures from the convergence scenario's 20 daemons (19 routers).
    const conv = ctx.earlier.get('convergence');
    const convRss = conv?.metrics['routerRssMbN20'];
    const convUp = conv?.metrics['daemonsUpN20'];
    if (ctx.quick && typeof convRss === 'number' && typeof convUp === 'number') {
      return {
        name: 'footprint', title: this.title, status: 'ok', durationMs: performance.now() - started,
        columns: ['daemonsUp', 'rssMbP50', 'rssMbMax'],
        rows: [{ label: '20 daemons (19 routers) of the convergence run', values: { daemonsUp: convUp, rssMbP50: convRss, rssMbMax: conv?.metrics['routerRssMaxMbN20'] ?? null } }],
        metrics: { noModelRssMb: convRss, twentyDaemonsUp: convUp },
        notes: ['Quick run: measured on the convergence scenario\'s 20 daemons after the crash test (the full run starts 20 idle routers of its own).'],
      };
    }
    ctx.log('footprint: 20 daemons with no models');
    const first = await spawnDaemon({ models: [], node: node([]) });
    const procs: DaemonProc[] = [first];
    try {
      const specs: ChildSpec[] = Array.from({ length: 19 }, () => ({ models: [], node: node([first]) }));
      procs.push(...await spawnMany(specs));
      await sleep(3000); // let routes and pings settle
      const up = await Promise.all(procs.map(async (p) => {
        const c = createPlexusAdminClient(p.grpc);
        try { await c.ping(5000); return 1; } catch { return 0; } finally { c.close(); }
      }));
      const rss = procs.map((p) => rssMb(p.pid)).filter((v): v is number => v !== null);
      const cpu = procs.map((p) => cpuSeconds(p.pid)).filter((v): v is number => v !== null);
      const s = summarize(rss);
      const count = up.reduce((a: number, b) => a + b, 0);
      return {
        name: 'footprint', title: this.title, status: 'ok', durationMs: performance.now() - started,
        columns: ['daemonsUp', 'rssMbP50', 'rssMbMax', 'cpuSecondsTotal'],
        rows: [{ label: '20 routers', values: { daemonsUp: count, rssMbP50: round(s.p50), rssMbMax: round(s.max), cpuSecondsTotal: round(cpu.reduce((a, b) => a + b, 0)) } }],
        metrics: { noModelRssMb: round(s.p50), noModelRssMaxMb: round(s.max), twentyDaemonsUp: count },
        notes: ['RSS from /proc/<pid>/status after 3 s idle in a 20-node cluster; each daemon is a separate Node 22 process.'],
      };
    } finally {
      await stopAll(procs);
    }
  },
};
