// 66 libp2p identities from one process connect to a node (issue 10: 62 identities filled
// maxConnections, 64, and a new honest node could not join for 20 s). With the connection
// policy, one IP holds at most maxInboundPerIp inbound slots, and a newcomer takes the slot of
// a connection with nothing routed through it: an honest node joins within seconds and queries
// through the node.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/node/p2p/conn-policy.ts';
import { createHost, type P2PHost } from '../../src/node/p2p/host.ts';
import { infer, paramString, removeTempDirs, startClusterNode, waitFor, type ClusterNode } from './helpers.ts';

const IDENTITIES = 66;
let a: ClusterNode;
const crowd: P2PHost[] = [];

beforeAll(async () => {
  a = await startClusterNode();
});

afterAll(async () => {
  await Promise.all(crowd.map((h) => h.stop()));
  await a.close();
  removeTempDirs();
});

describe('many identities from one process', () => {
  it('do not keep an honest node out: it joins and queries within seconds', async () => {
    const hosts = await Promise.all(Array.from({ length: IDENTITIES }, async () => {
      const h = await createHost({ privateKey: await generateKeyPair('Ed25519'), logger: silentLogger() });
      await h.start();
      crowd.push(h);
      return h;
    }));
    const target = multiaddr(a.addrs[0] ?? '');
    // In small batches: libp2p refuses more than a few handshakes in flight at once.
    const dials: PromiseSettledResult<unknown>[] = [];
    for (let i = 0; i < hosts.length; i += 6) {
      dials.push(...await Promise.allSettled(hosts.slice(i, i + 6).map((h) => h.libp2p.dial(target, { signal: AbortSignal.timeout(5000) }))));
    }
    const inCount = (): number => a.cluster().peers().filter((p) => crowd.some((h) => h.peerId === p.peerId)).length;
    // They took what one IP may take (before: every slot there was).
    expect(dials.filter((d) => d.status === 'fulfilled').length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(inCount()).toBeLessThanOrEqual(DEFAULT_CONNECTION_LIMITS.maxInboundPerIp);
    // They stay connected (and idle) long enough to be evictable.
    await new Promise((r) => setTimeout(r, DEFAULT_CONNECTION_LIMITS.evictMinAgeMs + 500));
    const t0 = Date.now();
    const b = await startClusterNode({ noModels: true, static: true, bootstrap: [a.addrs[0] ?? ''] });
    try {
      await waitFor('B joins A and learns its model', () => b.cluster().routes().some((r) => r.origin === a.peerId), 8000);
      const res = await infer(b, {}, 10_000);
      expect(paramString(res.parameters, 'plexus.served_by')).toBe(a.peerId);
      expect(Date.now() - t0).toBeLessThan(10_000);
      // B sent a query through A: its connection is in use, the crowd cannot take its slot.
      await new Promise((r) => setTimeout(r, 1000));
      expect(a.cluster().peers().some((p) => p.peerId === b.peerId)).toBe(true);
    } finally {
      await b.close();
    }
  });
});
