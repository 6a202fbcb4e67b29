// Five nodes join by a chain of bootstrap links (each knows only the previous one), each
// hosting its own capability: every node learns every capability and can query it. A node
// restarted on the same data dir comes back with the same peer id and is learned again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  infer, originsFor, paramString, rawVadModel, removeTempDirs, startClusterNode, waitFor, type ClusterNode,
} from './helpers.ts';

const N = 5;
const capability = (i: number): string => `test.node${i}`;
const modelsOf = (i: number): unknown[] => [{ ...rawVadModel(), capabilities: [capability(i)] }];
const nodes: ClusterNode[] = [];

const knowsAll = (n: ClusterNode): boolean => nodes.every((m, i) => originsFor(n, capability(i)).has(m.peerId));

beforeAll(async () => {
  for (let i = 0; i < N; i++) {
    const prev = nodes[i - 1];
    nodes.push(await startClusterNode({ models: modelsOf(i), bootstrap: prev === undefined ? [] : [prev.addrs[0] ?? ''] }));
  }
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  removeTempDirs();
});

describe('five nodes joined by a bootstrap chain', () => {
  it('every node learns every capability', async () => {
    for (const n of nodes) await waitFor(`${n.peerId} knows all ${N} capabilities`, () => knowsAll(n), 10_000);
    // Each node bootstrapped to one other, yet every one knows routes to all.
    for (const n of nodes) expect(new Set(n.cluster().routes().map((r) => r.origin)).size).toBe(N);
  });

  it('a query at one end is served by the other end', async () => {
    const last = nodes[N - 1] as ClusterNode;
    const first = nodes[0] as ClusterNode;
    const res = await infer(last, {}, 10_000, capability(0));
    expect(paramString(res.parameters, 'plexus.served_by')).toBe(first.peerId);
    const back = await infer(first, {}, 10_000, capability(N - 1));
    expect(paramString(back.parameters, 'plexus.served_by')).toBe(last.peerId);
  });

  it('a node restarted with the same data dir keeps its peer id and is learned again', async () => {
    const mid = 2;
    const old = nodes[mid] as ClusterNode;
    const listen = old.addrs[0]?.replace(/\/p2p\/[^/]+$/, '') ?? '';
    await old.close();
    const others = nodes.filter((n) => n !== old);
    // Its withdrawal reaches everyone: nobody routes to it while it is down.
    for (const n of others) await waitFor(`${n.peerId} forgets the stopped node`, () => !originsFor(n, capability(mid)).has(old.peerId), 5000);

    const prev = nodes[mid - 1] as ClusterNode;
    const again = await startClusterNode({ dataDir: old.dataDir, listen, models: modelsOf(mid), bootstrap: [prev.addrs[0] ?? ''] });
    nodes[mid] = again;
    expect(again.peerId).toBe(old.peerId);
    for (const n of nodes) await waitFor(`${n.peerId} knows all capabilities after the restart`, () => knowsAll(n), 10_000);
    const res = await infer(nodes[N - 1] as ClusterNode, {}, 10_000, capability(mid));
    expect(paramString(res.parameters, 'plexus.served_by')).toBe(again.peerId);
  });
});
