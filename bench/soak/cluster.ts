// The soak's five daemons: two entry nodes that live throughout (n0 hosts the default models,
// n1 hosts none and routes everything), three providers (the default models) that are SIGKILLed
// and started again in the same directory (same identity, same data) at random.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rssMb, spawnDaemonIn, type ChildSpec, type DaemonProc } from '../procs.ts';

export interface Slot {
  readonly name: string;
  readonly killable: boolean;
  readonly dir: string;
  readonly spec: ChildSpec;
  /** The running incarnation; null while killed. */
  proc: DaemonProc | null;
  restarts: number;
  /** RSS samples of this slot (MB), oldest first, with the ms since the soak began. */
  readonly rss: { atMs: number; mb: number }[];
}

export interface SoakCluster {
  readonly slots: readonly Slot[];
  readonly entries: readonly DaemonProc[];
  /** libp2p addresses of the nodes up now (rogue targets). */
  addrs(): string[];
  sampleRss(atMs: number): void;
  stop(): Promise<void>;
}

const p2p = (bootstrap: readonly DaemonProc[]): ChildSpec['node'] => ({
  p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: bootstrap.flatMap((p) => p.listenAddrs.slice(0, 1)) },
});

function slot(name: string, killable: boolean, spec: ChildSpec): Slot {
  return { name, killable, dir: mkdtempSync(join(tmpdir(), `plexus-soak-${name}-`)), spec, proc: null, restarts: 0, rss: [] };
}

export async function startSoakCluster(): Promise<SoakCluster> {
  const slots: Slot[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(slots.map(async (s) => { await s.proc?.stop(); s.proc = null; }));
    for (const s of slots) rmSync(s.dir, { recursive: true, force: true });
  };
  try {
    const s0 = slot('n0', false, { node: p2p([]) });
    slots.push(s0);
    s0.proc = await spawnDaemonIn(s0.dir, s0.spec);
    const n0 = s0.proc;
    const s1 = slot('n1', false, { models: [], node: p2p([n0]) });
    slots.push(s1);
    s1.proc = await spawnDaemonIn(s1.dir, s1.spec);
    const n1 = s1.proc;
    for (const name of ['n2', 'n3', 'n4']) slots.push(slot(name, true, { node: p2p([n0, n1]) }));
    // Two at a time, as spawnMany does: five ORT daemons at once only measure the scheduler.
    for (const group of [slots.slice(2, 4), slots.slice(4)]) {
      await Promise.all(group.map(async (s) => { s.proc = await spawnDaemonIn(s.dir, s.spec); }));
    }
    return {
      slots, entries: [n0, n1],
      addrs: () => slots.flatMap((s) => s.proc?.listenAddrs.slice(0, 1) ?? []),
      sampleRss(atMs) {
        for (const s of slots) {
          const mb = s.proc === null ? null : rssMb(s.proc.pid);
          if (mb !== null) s.rss.push({ atMs, mb });
        }
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Sleeps `ms`, waking early when `stopped()`. */
export async function sleepUnless(ms: number, stopped: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!stopped() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(250, until - Date.now())));
}

export interface ChaosStats { kills: number; restarts: number; restartFailures: number; firstFailure?: string }

/** Every `everyMs` (uniform), SIGKILL a random running killable slot; start it again after `downMs`. */
export async function chaosLoop(slots: readonly Slot[], stopped: () => boolean, everyMs: [number, number], downMs: [number, number]): Promise<ChaosStats> {
  const stats: ChaosStats = { kills: 0, restarts: 0, restartFailures: 0 };
  const between = ([lo, hi]: [number, number]): number => lo + Math.random() * (hi - lo);
  while (!stopped()) {
    await sleepUnless(between(everyMs), stopped);
    if (stopped()) break;
    const up = slots.filter((s) => s.killable && s.proc !== null);
    const victim = up[Math.floor(Math.random() * up.length)];
    if (victim?.proc == null) continue;
    victim.proc.kill();
    victim.proc = null;
    stats.kills++;
    await sleepUnless(between(downMs), stopped);
    try {
      victim.proc = await spawnDaemonIn(victim.dir, victim.spec);
      victim.restarts++;
      stats.restarts++;
    } catch (e) {
      stats.restartFailures++;
      stats.firstFailure ??= e instanceof Error ? e.message.slice(0, 200) : String(e);
    }
  }
  return stats;
}
