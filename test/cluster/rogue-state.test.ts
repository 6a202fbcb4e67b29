// Per-origin state a rogue neighbour can make a node keep or do (issue 10, peer rows), on a real
// daemon:
// - origins that come and expire, 5 cycles of 60 fat ones: every cache keyed by origin is
//   pruned when the table forgets the origin, and the post-GC heap does not grow across cycles
//   (before: signature and verified-advert caches kept every origin forever);
// - 500 signed fake origins × 16 address hints (the size) pointing at local TCP
//   listeners: the node dials
//   at most 2 addresses per origin, within the node-wide dial budget (before: a connection
//   attempt to every hinted address of every origin, hundreds within seconds).
import { createServer, type Server } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PEER_LIMITS } from '../../src/routing/peer-limits.ts';
import type { RoutingTable } from '../../src/routing/table.ts';
import { removeTempDirs, startClusterNode, waitFor, type ClusterNode } from './helpers.ts';
import { fakeOrigins, fatModels, signedUpdates, startRogue, type Rogue } from './rogue.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const REFRESH = 200;
const HINTED_ORIGINS = 500;
let a: ClusterNode;
const rogues: Rogue[] = [];
const servers: Server[] = [];

beforeAll(async () => {
  a = await startClusterNode({ refreshMs: REFRESH });
});

afterAll(async () => {
  await Promise.all(rogues.map((r) => r.stop()));
  await Promise.all(servers.map((s) => new Promise((r) => { s.close(r); })));
  await a.close();
  removeTempDirs();
});

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Three fat models per advert: ~48 KB canonical, under the 64 KB advert limit. */
const fatter = (i: number): ReturnType<typeof fatModels> => [...fatModels(i), ...fatModels(i + 100_000).slice(0, 1)];

describe('origins that come and expire', () => {
  it('5 cycles of 60: every per-origin cache is pruned and the post-GC heap stays flat', async () => {
    const rogue = await startRogue();
    rogues.push(rogue);
    await rogue.connect(a.addrs[0] ?? '');
    const fakeCount = (): number => new Set(a.cluster().routes().filter((r) => r.model.startsWith('fat-')).map((r) => r.origin)).size;
    const heaps: number[] = [];
    for (let cycle = 0; cycle < 5; cycle++) {
      const origins = await fakeOrigins(60);
      const updates = await signedUpdates(origins, fatter);
      await rogue.send(updates);
      await waitFor(`cycle ${cycle}: A learns 60 origins`, () => fakeCount() === 60, 10_000);
      // The rogue never refreshes them: routes expire after the hold time, entries a hold time later.
      await waitFor(`cycle ${cycle}: A forgets them`, () => (a.cluster().table() as RoutingTable).originCount === 0, 15_000);
      await new Promise((r) => setTimeout(r, REFRESH)); // the protocol's sweep runs once a refresh
      heaps.push(heapAfterGc());
      const state = a.cluster().peerState();
      expect(state?.table).toMatchObject({ origins: 0, liveOrigins: 0, routes: 0, stats: 0, seqnoWanted: 0 });
      // Only A's own advert is still proven (a few recent seqs of it).
      expect(state?.routes.sigOrigins).toBe(1);
      expect(state?.routes.sigs).toBeLessThanOrEqual(4);
      expect(state?.routes).toMatchObject({ addrHints: 0, heard: 0, dials: 0 });
    }
    // 300 adverts of ~48 KB went through; keeping them would be ~14 MB.
    const growth = (heaps[4] ?? 0) - (heaps[0] ?? 0);
    expect(growth).toBeLessThan(3 * 1024 * 1024);
  });
});

async function countingServer(): Promise<{ port: number; accepts: () => number }> {
  let n = 0;
  const s = createServer((sock) => { n++; sock.destroy(); });
  servers.push(s);
  await new Promise<void>((r) => { s.listen(0, '127.0.0.1', r); });
  const addr = s.address();
  return { port: typeof addr === 'object' && addr !== null ? addr.port : 0, accepts: () => n };
}

describe('address hints', () => {
  it(`${HINTED_ORIGINS} fake origins × 16 hints: at most 2 addresses per origin, within the node-wide budget`, async () => {
    const rogue = await startRogue();
    rogues.push(rogue);
    await rogue.connect(a.addrs[0] ?? '');
    const first = await Promise.all([countingServer(), countingServer()]);
    const rest = await Promise.all(Array.from({ length: 14 }, () => countingServer()));
    const hint = [...first, ...rest].map((s) => `/ip4/127.0.0.1/tcp/${s.port}`);
    const origins = await fakeOrigins(HINTED_ORIGINS);
    const updates = await signedUpdates(origins, () => []);
    const started = Date.now();
    const stop = rogue.keepSending(updates, REFRESH); // (hints ride with the first send only)
    await rogue.send(updates, () => hint);
    await new Promise((r) => setTimeout(r, 3000));
    await rogue.send(updates, () => hint); // the same hints again: back-off, not a new round
    await new Promise((r) => setTimeout(r, 1000));
    stop();
    const seconds = (Date.now() - started) / 1000;
    const toFirst = first.reduce((n, s) => n + s.accepts(), 0);
    const toRest = rest.reduce((n, s) => n + s.accepts(), 0);
    expect(toRest).toBe(0);
    const budget = (DEFAULT_PEER_LIMITS.hintDialBurst + DEFAULT_PEER_LIMITS.hintDialsPerSecond * seconds) * DEFAULT_PEER_LIMITS.hintAddrsPerOrigin;
    expect(toFirst).toBeGreaterThan(0); // hints are still used
    expect(toFirst).toBeLessThanOrEqual(Math.ceil(budget));
  });
});
