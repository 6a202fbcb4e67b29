// Scratch probe (not a scenario): starts N idle daemons as the idle scenario does, waits,
// then every 2 s samples each daemon's established TCP connections (ss) and CPU, and
// reports connection churn (new/closed 4-tuples per minute), degree, CPU per daemon.
// PROBE_PROF=k: k daemons from PROBE_PROF_FROM (default 0) run with --cpu-prof (written to PROBE_PROF_DIR at stop).
// usage: node bench/idle-probe.ts [N] [windowS] [settleS] [bin]
import { spawnSync } from 'node:child_process';
import { cpuSeconds, spawnDaemon, stopAll, type DaemonProc } from './procs.ts';
import { sileroSpec } from './scenarios/plexus.ts';

const N = Number(process.argv[2] ?? 20);
const WINDOW = Number(process.argv[3] ?? 60) * 1000;
const SETTLE = Number(process.argv[4] ?? 60) * 1000;
const BIN = process.argv[5];
const PROF = Number(process.env['PROBE_PROF'] ?? 0);
const PROF_FROM = Number(process.env['PROBE_PROF_FROM'] ?? 0);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function conns(pids: readonly number[]): Map<number, Set<string>> {
  const r = spawnSync('ss', ['-tnpH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = new Map<number, Set<string>>(pids.map((p) => [p, new Set()]));
  for (const line of r.stdout.split('\n')) {
    const m = /pid=(\d+)/.exec(line);
    if (m?.[1] === undefined) continue;
    const s = out.get(Number(m[1]));
    if (s === undefined) continue;
    const f = line.trim().split(/\s+/);
    s.add(`${f[2]}>${f[3]}`);
  }
  return out;
}

const procs: DaemonProc[] = [];
const spec = (parent: DaemonProc | undefined, model: boolean): Parameters<typeof spawnDaemon>[0] => ({
  models: model ? [sileroSpec({ capabilities: ['bench.idle'] })] : [],
  node: { p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: parent === undefined ? [] : parent.listenAddrs.slice(0, 1) } },
  bin: BIN,
  ...(process.env['PROBE_LOG'] === undefined ? {} : { logLevel: process.env['PROBE_LOG'] }),
});
const baseOpts = process.env['NODE_OPTIONS'] ?? '';
try {
  for (let i = 0; i < N; i++) {
    process.env['NODE_OPTIONS'] = i >= PROF_FROM && i < PROF_FROM + PROF ? `${baseOpts} --cpu-prof --cpu-prof-dir=${process.env['PROBE_PROF_DIR'] ?? '/tmp/prof'}` : baseOpts;
    procs.push(await spawnDaemon(spec(i === 0 ? undefined : procs[Math.floor((i - 1) / 2)], i === N - 1), 180_000));
  }
  process.env['NODE_OPTIONS'] = baseOpts;
  console.log(`started ${N}; pids ${procs.map((p) => p.pid).join(',')}`);
  await sleep(SETTLE);
  const pids = procs.map((p) => p.pid);
  const cpu0 = pids.map((p) => cpuSeconds(p) ?? 0);
  let prev = conns(pids);
  const opened = new Map<number, number>(pids.map((p) => [p, 0]));
  const closed = new Map<number, number>(pids.map((p) => [p, 0]));
  const t0 = Date.now();
  while (Date.now() - t0 < WINDOW) {
    await sleep(2000);
    const cur = conns(pids);
    for (const p of pids) {
      const a = prev.get(p) ?? new Set(); const b = cur.get(p) ?? new Set();
      for (const k of b) if (!a.has(k)) opened.set(p, (opened.get(p) ?? 0) + 1);
      for (const k of a) if (!b.has(k)) closed.set(p, (closed.get(p) ?? 0) + 1);
    }
    prev = cur;
  }
  const secs = (Date.now() - t0) / 1000;
  const cpu = pids.map((p, i) => ((cpuSeconds(p) ?? 0) - (cpu0[i] ?? 0)));
  const degree = pids.map((p) => prev.get(p)?.size ?? 0);
  console.log(`window ${secs.toFixed(1)} s; total cores ${(cpu.reduce((a, b) => a + b, 0) / secs).toFixed(4)}`);
  console.log('i pid conns opened/min closed/min cpu_s');
  pids.forEach((p, i) => { console.log(`${i} ${p} ${degree[i]} ${((opened.get(p) ?? 0) * 60 / secs).toFixed(1)} ${((closed.get(p) ?? 0) * 60 / secs).toFixed(1)} ${(cpu[i] ?? 0).toFixed(2)}`); });
} finally {
  await stopAll(procs);
}
