// Re-convergence after a lost next hop, when the only alternative is INFEASIBLE (RFC 8966):
// in the diamond A–{B,C}–D, C's link to D costs at least 50 ms, so C's route to D is worse
// than A's feasibility distance through B, and A may not adopt it until it hears a newer seq
// of D's advert. Refresh is 10 s here: the route comes back within a second or two only
// because A sends a seqno request, C forwards it to D, and D re-signs its advert at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  infer, originsFor, paramString, removeTempDirs, startClusterNode, waitFor, type ClusterNode,
} from './helpers.ts';

const REFRESH_MS = 10_000;
let a: ClusterNode, b: ClusterNode, c: ClusterNode, d: ClusterNode;
let bStopped = false;

const routeVia = (): string | undefined => a.cluster().routes().find((r) => r.origin === d.peerId)?.nextHop;

beforeAll(async () => {
  d = await startClusterNode({ static: true, refreshMs: REFRESH_MS });
  b = await startClusterNode({ static: true, noModels: true, refreshMs: REFRESH_MS, bootstrap: [d.addrs[0] ?? ''] });
  c = await startClusterNode({ static: true, noModels: true, refreshMs: REFRESH_MS, bootstrap: [d.addrs[0] ?? ''], table: { minLinkCostMs: 50 } });
  await waitFor('B and C know D', () => originsFor(b, 'speech.vad.raw').has(d.peerId) && originsFor(c, 'speech.vad.raw').has(d.peerId), 10_000);
  a = await startClusterNode({ static: true, noModels: true, refreshMs: REFRESH_MS, bootstrap: [b.addrs[0] ?? '', c.addrs[0] ?? ''] });
  await waitFor('A has B and C as neighbours', () => a.cluster().peers().filter((p) => p.neighbour).length === 2, 10_000);
  await waitFor('A routes to D via B', () => routeVia() === b.peerId, 10_000);
  // C's full dump (its slow route to D) reaches A right after they became neighbours.
  await new Promise((r) => setTimeout(r, 500));
}, 60_000);

afterAll(async () => {
  await Promise.all([a, c, d, ...(bStopped ? [] : [b])].filter((n) => n !== undefined).map((n) => n.close()));
  removeTempDirs();
});

describe('losing the only feasible route', () => {
  it('A prefers the fast path through B', async () => {
    const res = await infer(a);
    expect(paramString(res.parameters, 'plexus.route')).toBe([a, b, d].map((n) => n.peerId).join(','));
  });

  it('when B leaves, a seqno request makes the slow path through C usable long before the next refresh', async () => {
    const stoppedAt = Date.now();
    const stopping = b.close().then(() => { bStopped = true; });
    // Queries sent meanwhile wait out the re-convergence instead of failing NOT_FOUND.
    const during = [0, 1, 2].map(async (i) => {
      await new Promise((r) => setTimeout(r, i * 150));
      return infer(a, {}, 8000).then((res) => paramString(res.parameters, 'plexus.served_by'), (e: unknown) => (e as Error).message);
    });
    await stopping;
    const ms = await waitFor('A routes to D via C', () => routeVia() === c.peerId, 5000, 10);
    expect(Date.now() - stoppedAt).toBeLessThan(REFRESH_MS / 2);
    expect(ms).toBeLessThan(3000);
    for (const servedBy of await Promise.all(during)) expect(servedBy).toBe(d.peerId);
    const after = await infer(a);
    expect(paramString(after.parameters, 'plexus.route')).toBe([a, c, d].map((n) => n.peerId).join(','));
  });
});
