// Daemon subprocesses for the bench and what /proc says about them (Linux): CPU seconds from
// /proc/<pid>/stat (utime+stime), resident memory from /proc/<pid>/status (VmRSS).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ScenarioSkipped } from './types.ts';
import type { ChildSpec } from './daemon-child.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('./daemon-child.ts', import.meta.url));
const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface DaemonProc {
  readonly pid: number;
  readonly grpc: string;
  readonly peerId: string;
  /** libp2p multiaddrs (with /p2p/<id>), empty before the p2p layer exists. */
  readonly listenAddrs: readonly string[];
  readonly models: readonly string[];
  stop(): Promise<void>;
  /** SIGKILL: a crash, not a shutdown. */
  kill(): void;
}

/** Throws ScenarioSkipped naming the first project file that has not landed yet. */
export function requireProjectFiles(paths: readonly string[]): void {
  for (const p of paths) if (!existsSync(`${REPO}${p}`)) throw new ScenarioSkipped(`${p} is not in the tree yet`);
}

interface Ready { grpc: string; peerId: string; listenAddrs: string[]; models: string[] }

export interface ReadyChild<T> {
  readonly pid: number;
  /** What the child printed after `READY `. */
  readonly ready: T;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
  kill(): void;
}

/** Runs `script` under this Node and waits for its `READY <json>` line. */
export async function spawnReady<T>(script: string, args: readonly string[], readyTimeoutMs = 60_000): Promise<ReadyChild<T>> {
  const child: ChildProcess = spawn(process.execPath, [script, ...args], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const ready = await new Promise<T>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${script} not ready in ${readyTimeoutMs} ms: ${stderr}`)); }, readyTimeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('READY '));
      if (line !== undefined) { clearTimeout(timer); resolve(JSON.parse(line.slice(6)) as T); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${script} exited with ${code} before ready: ${stderr.trim()}`)); });
  });
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

export async function spawnDaemon(spec: ChildSpec, readyTimeoutMs = 60_000): Promise<DaemonProc> {
  const child = await spawnReady<Ready>(CHILD, [JSON.stringify(spec)], readyTimeoutMs);
  return { pid: child.pid, ...child.ready, stop: () => child.stop(), kill: () => { child.kill(); } };
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

/** Resident set size in MB; null when /proc is unavailable. */
export function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] !== undefined ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}
