// A diamond A–{X,Y}–D of static links, the model on D, the two middle routers in their own
// processes. Under steady load at A, the router carrying the traffic is SIGKILLed: every
// query succeeds (over the other router) or fails with UNAVAILABLE before its deadline,
// and routes through the dead router leave A's table within a few seconds. The killed
// router restarts on its data dir (same peer id, same port), rejoins, and carries the
// traffic again once the other router is killed in turn.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connectAll } from '../node/grpc/helpers.ts';
import {
  infer, originsFor, paramString, removeTempDirs, startClusterNode, startDaemonProcess, tempDir, waitFor,
  type ClusterNode, type DaemonProcess,
} from './helpers.ts';

const DEADLINE_MS = 10_000;
let a: ClusterNode, d: ClusterNode;
let routers: DaemonProcess[] = [];

interface Outcome { readonly ok: boolean; readonly code?: number; readonly details?: string; readonly ms: number; readonly startedAt: number; readonly via?: string | undefined }

/** Four closed loops of queries at A until stopped. */
function load(): { outcomes: Outcome[]; stop(): Promise<void> } {
  const outcomes: Outcome[] = [];
  let stopped = false;
  const loops = [0, 1, 2, 3].map(async () => {
    while (!stopped) {
      const startedAt = Date.now();
      try {
        const res = await infer(a, {}, DEADLINE_MS);
        outcomes.push({ ok: true, ms: Date.now() - startedAt, startedAt, via: paramString(res.parameters, 'plexus.route')?.split(',')[1] });
      } catch (e) {
        const err = e as grpc.ServiceError;
        outcomes.push({ ok: false, code: err.code, details: err.details, ms: Date.now() - startedAt, startedAt });
        await new Promise((r) => setTimeout(r, 20)); // no hot loop while nothing answers
      }
    }
  });
  return { outcomes, async stop() { stopped = true; await Promise.all(loops); } };
}

const routeVia = (): string | undefined => a.cluster().routes().find((r) => r.origin === d.peerId)?.nextHop;
const neighbours = (): string[] => a.cluster().peers().filter((p) => p.neighbour).map((p) => p.peerId);

beforeAll(async () => {
  d = await startClusterNode({ static: true });
  routers = await Promise.all([0, 1].map(() => startDaemonProcess({ dataDir: tempDir(), static: true, noModels: true, bootstrap: [d.addrs[0] ?? ''] })));
  a = await startClusterNode({ static: true, noModels: true, bootstrap: routers.map((r) => r.addrs[0] ?? '') });
  await waitFor('A has both routers as neighbours', () => routers.every((r) => neighbours().includes(r.peerId)), 15_000);
  await waitFor('A knows the route to D', () => originsFor(a, 'speech.vad.raw').has(d.peerId), 10_000);
}, 60_000);

afterAll(async () => {
  await Promise.all(routers.map((r) => r.kill()));
  await Promise.all([a, d].filter((n) => n !== undefined).map((n) => n.close()));
  removeTempDirs();
});

function expectCleanOutcomes(outcomes: readonly Outcome[]): void {
  for (const o of outcomes) {
    if (o.ok) continue;
    // A clear status, never a hang until the caller's deadline.
    expect(o.code, `${o.details ?? ''} (after ${o.ms} ms)`).toBe(grpc.status.UNAVAILABLE);
    expect(o.ms).toBeLessThan(DEADLINE_MS);
  }
}

describe('a router dies under load', () => {
  it('queries fail over or fail fast, routes through the dead router vanish, and a restart brings it back', async () => {
    const traffic = load();
    try {
      await waitFor('queries flow', () => traffic.outcomes.filter((o) => o.ok).length >= 8, 10_000);
      const victimId = routeVia();
      const victim = routers.find((r) => r.peerId === victimId);
      const survivor = routers.find((r) => r.peerId !== victimId);
      if (victim === undefined || survivor === undefined) throw new Error(`A routes to D via ${String(victimId)}, not a router`);

      const killedAt = Date.now();
      await victim.kill('SIGKILL');
      const goneMs = await waitFor('routes via the killed router leave A', () => !a.cluster().routes().some((r) => r.nextHop === victim.peerId), 3000, 5);
      expect(goneMs).toBeLessThan(3000);
      await waitFor('traffic flows over the survivor', () => traffic.outcomes.some((o) => o.ok && o.startedAt > killedAt && o.via === survivor.peerId), 5000);
      await new Promise((r) => setTimeout(r, 500));
      const afterKill = traffic.outcomes.filter((o) => o.startedAt >= killedAt);
      expect(afterKill.filter((o) => o.ok).length).toBeGreaterThan(0);
      expectCleanOutcomes(traffic.outcomes);

      // Restart on the same data dir and port: same peer id; A's bootstrap redial finds it.
      const dataDir = victim.proc.spawnargs[victim.proc.spawnargs.indexOf('--data-dir') + 1] ?? '';
      const listen = victim.addrs[0]?.replace(/\/p2p\/[^/]+$/, '');
      const again = await startDaemonProcess({ dataDir, listen, static: true, noModels: true, bootstrap: [d.addrs[0] ?? '', a.addrs[0] ?? ''] });
      routers = routers.map((r) => (r === victim ? again : r));
      expect(again.peerId).toBe(victim.peerId);
      await waitFor('A has the restarted router as a neighbour again', () => neighbours().includes(again.peerId), 20_000);
      const clients = connectAll(again.grpc);
      try {
        await waitFor('the restarted router knows D', async () => {
          const res = await call<{ routes: { origin: string }[] }>(clients.plexus, 'GetRoutes', {}, 5000);
          return res.routes.some((r) => r.origin === d.peerId);
        }, 10_000, 100);
      } finally {
        clients.close();
      }

      // Now the survivor dies: the restarted router carries the traffic.
      const secondKill = Date.now();
      await survivor.kill('SIGKILL');
      await waitFor('routes via the second killed router leave A', () => !a.cluster().routes().some((r) => r.nextHop === survivor.peerId), 3000, 5);
      await waitFor('traffic flows over the restarted router', () => traffic.outcomes.some((o) => o.ok && o.startedAt > secondKill && o.via === again.peerId), 5000)
        .catch((e: unknown) => { throw new Error(`${(e as Error).message}; A's routes: ${JSON.stringify(a.cluster().routes().map((r) => [r.origin.slice(-6), r.nextHop.slice(-6)]))}; since the kill: ${JSON.stringify(traffic.outcomes.filter((o) => o.startedAt > secondKill).slice(-5))}`); });
    } finally {
      await traffic.stop();
    }
    expectCleanOutcomes(traffic.outcomes);
    const failed = traffic.outcomes.filter((o) => !o.ok).length;
    // Only queries in flight at a kill (at most the 4 loops, twice) may fail.
    expect(failed).toBeLessThanOrEqual(8);
  }, 90_000);
});
