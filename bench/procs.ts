// Daemon subprocesses for the bench and what /proc says about them (Linux): CPU seconds from
// /proc/<pid>/stat (utime+stime), resident memory from /proc/<pid>/status (VmRSS).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScenarioSkipped } from './types.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const PLEXUS = fileURLToPath(new URL('../bin/plexus', import.meta.url));
const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface DaemonProc {
  readonly pid: number;
  readonly grpc: string;
  readonly peerId: string;
  /** libp2p multiaddrs (with /p2p/<id>), empty before the p2p layer exists. */
  readonly listenAddrs: readonly string[];
  readonly models: readonly string[];
  /** HOST:PORT of its HTTP port (/metrics), when the spec turned one on (`node.http`). */
  readonly http?: string;
  stop(): Promise<void>;
  /** SIGKILL: a crash, not a shutdown. */
  kill(): void;
}

/** Throws ScenarioSkipped naming the first project file that has not landed yet. */
export function requireProjectFiles(paths: readonly string[]): void {
  for (const p of paths) if (!existsSync(`${REPO}${p}`)) throw new ScenarioSkipped(`${p} is not in the tree yet`);
}

/** What a bench daemon runs with: the parts of a config file the scenarios vary. */
export interface ChildSpec {
  /** The `models:` section of a config file; omitted = the node's defaults. */
  readonly models?: readonly unknown[];
  /** Extra `node:` settings of the config file (p2p listen, bootstrap, static...). */
  readonly node?: Readonly<Record<string, unknown>> | undefined;
  /** The `inference:` section (model worker threads, audio limits); omitted = defaults. */
  readonly inference?: Readonly<Record<string, unknown>>;
  readonly logLevel?: string;
  /** Another checkout's bin/plexus (a "before" run beside this tree's "after"); omitted = this tree's. */
  readonly bin?: string | undefined;
}

/** `plexus node start --json`'s ready line. */
interface StartLine { grpc: string; peerId: string | null; http?: string | null; multiaddrs?: string[]; models: { name: string }[] }

// Daemons outlive a crashed bench otherwise: kill what is left when this process exits.
const live = new Set<ChildProcess>();
process.once('exit', () => { for (const c of live) c.kill('SIGKILL'); });

export interface ReadyChild<T> {
  readonly pid: number;
  /** What the child printed after `READY `. */
  readonly ready: T;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
  kill(): void;
}

/** Runs `script` under this Node and waits for its `READY <json>` line. */
export function spawnReady<T>(script: string, args: readonly string[], readyTimeoutMs = 60_000): Promise<ReadyChild<T>> {
  return spawnUntil<T>(process.execPath, [script, ...args], (line) => (line.startsWith('READY ') ? JSON.parse(line.slice(6)) as T : undefined), readyTimeoutMs);
}

/** Runs `command` and waits for the first stdout line `parse` accepts. */
async function spawnUntil<T>(command: string, args: readonly string[], parse: (line: string) => T | undefined, readyTimeoutMs: number): Promise<ReadyChild<T>> {
  const child: ChildProcess = spawn(command, args, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => { live.delete(child); });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const ready = await new Promise<T>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${command} not ready in ${readyTimeoutMs} ms: ${stderr}`)); }, readyTimeoutMs);
    const onData = (d: Buffer): void => {
      out += d.toString();
      for (const line of out.split('\n').slice(0, -1)) {
        const v = parse(line);
        if (v !== undefined) { clearTimeout(timer); child.stdout?.off('data', onData); resolve(v); return; }
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${command} exited with ${code} before ready: ${stderr.trim()}`)); });
  });
  // Keep draining whatever else it prints; PLEXUS_BENCH_LOG_DIR keeps it, one file per daemon.
  const logDir = process.env['PLEXUS_BENCH_LOG_DIR'];
  if (logDir !== undefined && logDir !== '') {
    const file = createWriteStream(join(logDir, `${child.pid ?? 'x'}.log`));
    child.stdout?.pipe(file);
    child.stderr?.pipe(file);
  } else {
    child.stdout?.resume();
  }
  const exited = new Promise<void>((resolve) => { if (child.exitCode !== null) resolve(); else child.once('exit', () => resolve()); });
  return {
    pid: child.pid ?? -1,
    ready,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    kill() { child.kill('SIGKILL'); },
  };
}

/**
 * A daemon as users run one: bin/plexus (the compiled build when it is current, with the
 * launcher's Node flags), a config file made from `spec`, `--json` for its addresses, in a
 * temporary directory that `prepare` may fill first (its data dir is `data/` there) and stop()
 * removes.
 */
export async function spawnDaemon(spec: ChildSpec, readyTimeoutMs = 60_000, prepare?: (dir: string) => void): Promise<DaemonProc> {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-node-'));
  let d: DaemonProc;
  try {
    prepare?.(dir);
    d = await spawnDaemonIn(dir, spec, readyTimeoutMs);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { ...d, stop: async () => { await d.stop(); rmSync(dir, { recursive: true, force: true }); } };
}

/**
 * The same, in a directory the caller owns (config.json and data/ inside it), which stop()
 * leaves in place: a daemon killed and started again in it keeps its identity and its data.
 */
export async function spawnDaemonIn(dir: string, spec: ChildSpec, readyTimeoutMs = 60_000): Promise<DaemonProc> {
  const config: Record<string, unknown> = { node: { ...(spec.node ?? {}) } };
  if (spec.models !== undefined) config['models'] = spec.models;
  if (spec.inference !== undefined) config['inference'] = spec.inference;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const args = ['node', 'start', '--config', join(dir, 'config.json'), '--grpc', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--log-level', spec.logLevel ?? 'warn', '--json'];
  const child = await spawnUntil<StartLine>(spec.bin ?? PLEXUS, args, (line) => (line.startsWith('{') ? JSON.parse(line) as StartLine : undefined), readyTimeoutMs);
  const r = child.ready;
  return {
    pid: child.pid, grpc: r.grpc, peerId: r.peerId ?? '', listenAddrs: r.multiaddrs ?? [], models: r.models.map((m) => m.name),
    ...(typeof r.http === 'string' ? { http: r.http } : {}),
    stop: () => child.stop(),
    kill: () => { child.kill(); },
  };
}

export async function spawnMany(specs: readonly ChildSpec[]): Promise<DaemonProc[]> {
  const out: DaemonProc[] = [];
  try {
    // Two at a time: starting 20 Node processes at once on 2 cores only measures the scheduler.
    for (let i = 0; i < specs.length; i += 2) out.push(...await Promise.all(specs.slice(i, i + 2).map((s) => spawnDaemon(s))));
  } catch (e) {
    await stopAll(out);
    throw e;
  }
  return out;
}

export async function stopAll(procs: readonly DaemonProc[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop()));
}

/** CPU seconds (user+system) the process has used so far; null when /proc is unavailable. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ", field index 11 = utime, 12 = stime (0-based from state).
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * TCP payload bytes each process has sent on its open sockets (`ss -tinp`: bytes_sent per
 * socket, summed by owning pid); null when ss is unavailable. Sockets closed since are not counted.
 */
export function tcpBytesSent(pids: readonly number[]): Map<number, number> | null {
  const r = spawnSync('ss', ['-tinpH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return null;
  const out = new Map<number, number>(pids.map((p) => [p, 0]));
  let owner: number | undefined;
  for (const line of r.stdout.split('\n')) {
    const pid = /pid=(\d+)/.exec(line);
    if (pid?.[1] !== undefined) { owner = Number(pid[1]); continue; }
    const sent = /bytes_sent:(\d+)/.exec(line);
    if (sent?.[1] !== undefined && owner !== undefined && out.has(owner)) out.set(owner, (out.get(owner) ?? 0) + Number(sent[1]));
    if (!line.startsWith('\t') && !line.startsWith(' ')) owner = undefined;
  }
  return out;
}

/** Established TCP connections each process holds (`ss -tnp`); null when ss is unavailable. */
export function tcpConnectionCounts(pids: readonly number[]): Map<number, number> | null {
  const r = spawnSync('ss', ['-tnpH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return null;
  const out = new Map<number, number>(pids.map((p) => [p, 0]));
  for (const m of r.stdout.matchAll(/pid=(\d+)/g)) {
    const pid = Number(m[1]);
    if (out.has(pid)) out.set(pid, (out.get(pid) ?? 0) + 1);
  }
  return out;
}

/** Resident set size in MB; null when /proc is unavailable. */
export function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] !== undefined ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Read- and write-type system calls the process has made so far (`syscr` + `syscw` of
 * /proc/PID/io, all threads): socket reads and writes, and the eventfd wake-ups between its
 * threads. Steadier than CPU time, though not fixed: how many messages one read or wake-up
 * finds moves with timing. Null when /proc is unavailable.
 */
export function ioSyscalls(pid: number): number | null {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const r = /syscr:\s+(\d+)/.exec(io)?.[1];
    const w = /syscw:\s+(\d+)/.exec(io)?.[1];
    return r === undefined || w === undefined ? null : Number(r) + Number(w);
  } catch {
    return null;
  }
}

/** TCP segments this machine has sent so far (all sockets: `OutSegs` of /proc/net/snmp); null when unavailable. */
export function tcpOutSegments(): number | null {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Tcp:'));
    const names = lines[0]?.split(' ') ?? [];
    const values = lines[1]?.split(' ') ?? [];
    const v = values[names.indexOf('OutSegs')];
    return v === undefined ? null : Number(v);
  } catch {
    return null;
  }
}

/**
 * The machine's CPU time so far, all CPUs together, from the first line of /proc/stat: `total`
 * and `steal` (the time a virtual machine's CPUs were ready to run but the host ran something
 * else), in clock ticks; null when unavailable.
 */
export function machineCpuTicks(): { total: number; steal: number } | null {
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    if (!first.startsWith('cpu ')) return null;
    const fields = first.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is in user's already.
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const steal = fields[7];
    return steal === undefined || !Number.isFinite(total) ? null : { total, steal };
  } catch {
    return null;
  }
}

/** The share of the machine's CPU time stolen by its host between two readings, in %; null when unknown. */
export function stealPct(a: { total: number; steal: number } | null, b: { total: number; steal: number } | null): number | null {
  if (a === null || b === null || b.total <= a.total) return null;
  return (100 * (b.steal - a.steal)) / (b.total - a.total);
}
