// Scenario (opt-in, `npm run bench -- --only idle-rss`): the resident memory of a node with no
// models, held idle in a cluster for 10 minutes (the issue's figure). Four daemons joined as a
// bootstrap tree (three hosting nothing, one leaf hosting silero-vad, so there is a route to
// advertise and refresh), no queries. VmRSS (/proc/<pid>/status) of the three no-model daemons at
// 1, 5 and 10 minutes after every node has learned the leaf's route (--quick: 30 s, 1 and 2 min;
// PLEXUS_IDLE_RSS_MARKS=60,300,600 sets the marks in seconds). PLEXUS_BENCH_BASELINE=<another
// checkout> starts the same cluster from that checkout's bin/plexus beside this tree's, at the
// same time (two separate clusters), so the rows compare on the same machine and minutes.
// A fifth daemon per cluster, also without models, starts on a data dir that holds a job store
// (an empty SQLite file, as a node that has held jobs keeps): it opens the store at start and
// keeps node:sqlite loaded, which a node that has never held a job does not; its rows say so.
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { createPlexusAdminClient, type PlexusAdminClient } from '../plexus-client.ts';
import { requireProjectFiles, rssMb, spawnDaemon, stopAll, type ChildSpec, type DaemonProc } from '../procs.ts';
import { round, summarize } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioResult } from '../types.ts';
import { sileroSpec } from './plexus.ts';

const N = 4;
const CAP = 'bench.idle-rss';
const READY_MS = 120_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Seconds after the cluster is up at which RSS is read: the env override, else 1/5/10 min (quick: 0.5/1/2). */
export function idleRssMarks(quick: boolean, env: string | undefined): number[] {
  if (env !== undefined && env.trim() !== '') {
    const marks = env.split(',').map((s) => Number(s.trim()));
    if (marks.some((s) => !Number.isFinite(s) || s <= 0)) throw new Error(`PLEXUS_IDLE_RSS_MARKS: '${env}' is not a list of positive seconds`);
    return [...marks].sort((a, b) => a - b);
  }
  return quick ? [30, 60, 120] : [60, 300, 600];
}

function nodeSpec(parent: DaemonProc | undefined): ChildSpec['node'] {
  return { p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: parent === undefined ? [] : parent.listenAddrs.slice(0, 1) } };
}

interface Cluster { readonly label: string; readonly procs: DaemonProc[]; readonly clients: PlexusAdminClient[]; withStore?: DaemonProc }

/** A daemon's data dir holding a job store already (a zero-length SQLite file is an empty database). */
function withJobStore(dir: string): void {
  mkdirSync(join(dir, 'data'), { mode: 0o700 });
  writeFileSync(join(dir, 'data', 'jobs.sqlite'), '');
}

/** Node i bootstraps from node floor((i-1)/2); the last one hosts the model. */
async function startCluster(label: string, bin: string | undefined, into: Cluster[]): Promise<void> {
  const c: Cluster = { label, procs: [], clients: [] };
  into.push(c);
  for (let i = 0; i < N; i++) {
    const parent = i === 0 ? undefined : c.procs[Math.floor((i - 1) / 2)];
    c.procs.push(await spawnDaemon({ models: i === N - 1 ? [sileroSpec({ capabilities: [CAP] })] : [], node: nodeSpec(parent), bin }, READY_MS));
  }
  c.withStore = await spawnDaemon({ models: [], node: nodeSpec(c.procs[0]), bin }, READY_MS, withJobStore);
  c.clients.push(...[...c.procs, c.withStore].map((p) => createPlexusAdminClient(p.grpc)));
  const origin = (c.procs[N - 1] as DaemonProc).peerId;
  const t0 = performance.now();
  for (;;) {
    const known = await Promise.all(c.clients.map((cl) => cl.routes().then((rs) => rs.some((r) => r.origin === origin), () => false)));
    if (known.every(Boolean)) return;
    if (performance.now() - t0 > 120_000) throw new Error(`${label}: ${known.filter((k) => !k).length} of ${known.length} nodes never learned the model leaf's route`);
    await sleep(200);
  }
}

export const idleRssScenario: Scenario = {
  name: 'idle-rss',
  title: 'Idle RSS: a no-model node held idle 10 minutes in a 4-daemon cluster (opt-in)',
  optIn: true,
  async run(ctx): Promise<ScenarioResult> {
    requireProjectFiles(['src/node/p2p/service.ts']);
    const started = performance.now();
    const marks = idleRssMarks(ctx.quick, process.env['PLEXUS_IDLE_RSS_MARKS']);
    const baseline = process.env['PLEXUS_BENCH_BASELINE'];
    const builds = [
      ...(baseline === undefined || baseline === '' ? [] : [{ label: `before (${baseline})`, bin: join(baseline, 'bin/plexus') }]),
      { label: 'this tree', bin: undefined },
    ];
    const clusters: Cluster[] = [];
    const rows: ResultRow[] = [];
    const metrics: Record<string, number | null> = {};
    try {
      for (const b of builds) await startCluster(b.label, b.bin, clusters);
      const up = performance.now();
      ctx.log(`idle-rss: ${clusters.length} cluster(s) of ${N} up; reading RSS at ${marks.join(', ')} s`);
      for (const s of marks) {
        await sleep(Math.max(0, up + s * 1000 - performance.now()));
        for (const [k, c] of clusters.entries()) {
          const rss = c.procs.slice(0, -1).map((p) => rssMb(p.pid)).filter((v): v is number => v !== null);
          if (rss.length === 0) throw new Error(`${c.label}: no RSS readable (/proc)`);
          const r = summarize(rss);
          rows.push({ label: `${c.label}, ${s} s idle`, values: { idleS: s, rssMbP50: round(r.p50), rssMbMin: round(r.min), rssMbMax: round(r.max), samples: rss.map((v) => v.toFixed(1)).join(' ') } });
          const suffix = builds[k]?.bin === undefined ? '' : 'Before';
          metrics[`idleRssMbAt${s}s${suffix}`] = round(r.p50);
          const store = c.withStore === undefined ? null : rssMb(c.withStore.pid);
          if (store !== null) rows.push({ label: `${c.label}, with a job store, ${s} s idle`, values: { idleS: s, rssMbP50: round(store), rssMbMin: round(store), rssMbMax: round(store), samples: store.toFixed(1) } });
          if (s === marks[marks.length - 1]) {
            metrics[`idleRssMb${suffix}`] = round(r.p50);
            metrics[`idleRssMaxMb${suffix}`] = round(r.max);
            metrics[`idleRssMbWithStore${suffix}`] = store === null ? null : round(store);
          }
        }
        ctx.log(`idle-rss: ${s} s: ${rows.filter((r) => r.values['idleS'] === s).map((r) => `${r.label} p50 ${String(r.values['rssMbP50'])} MB`).join('; ')}`);
      }
      metrics['idleRssEndS'] = marks[marks.length - 1] ?? null;
    } finally {
      for (const c of clusters) for (const cl of c.clients) cl.close();
      await Promise.all(clusters.map((c) => stopAll(c.withStore === undefined ? c.procs : [...c.procs, c.withStore])));
    }
    return {
      name: 'idle-rss', title: this.title, status: 'ok', durationMs: performance.now() - started,
      columns: ['idleS', 'rssMbP50', 'rssMbMin', 'rssMbMax', 'samples'], rows, metrics,
      notes: [
        `${N} daemons per cluster (bootstrap tree; 3 host nothing, the leaf hosts silero-vad), no queries; marks counted from when every node lists the leaf's route.`,
        'rssMb: VmRSS of the 3 no-model daemons (/proc/<pid>/status) at each mark; samples lists them. With PLEXUS_BENCH_BASELINE both clusters run at the same time.',
        'A fifth no-model daemon per cluster starts on a data dir holding a job store (rows "with a job store"): it opens it at start, as a node that has held jobs does; the three above have never held a job, so they leave SQLite unloaded.',
      ],
    };
  },
};
