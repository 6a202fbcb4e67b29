// A provider's load reaches its neighbours through the engine's run events (onActivity), not a
// poll or the periodic refresh (a minute away here): while queries wait on its model the advert a
// neighbour holds shows the load, and as they are answered it falls back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infer, rawVadModel, removeTempDirs, startClusterNode, waitFor, type ClusterNode } from './helpers.ts';

let watcher: ClusterNode, provider: ClusterNode;
const loadSeen = (): number | undefined =>
  watcher.cluster().adverts().find((a) => a.origin === provider.peerId)?.models.find((m) => m.name === 'silero-vad')?.load;

beforeAll(async () => {
  // Capacity 1 + 4: four queued queries are several quarters of it, a change routing cares about.
  // A refresh far away: only run events can make the provider re-advertise its load in time.
  provider = await startClusterNode({ models: [{ ...rawVadModel({ delayMs: 1500, maxConcurrent: 1 }), maxQueue: 4 }], refreshMs: 60_000 });
  watcher = await startClusterNode({ noModels: true, bootstrap: [provider.addrs[0] ?? ''] });
  await waitFor('the watcher holds the provider advert', () => loadSeen() !== undefined, 10_000);
});
afterAll(async () => {
  await Promise.all([watcher, provider].filter((n) => n !== undefined).map((n) => n.close()));
  removeTempDirs();
});

describe('load adverts driven by run events', () => {
  it('shows the load while queries wait, and its fall as they are answered', async () => {
    expect(loadSeen()).toBe(0);
    const queries = Array.from({ length: 5 }, () => infer(provider, {}, 20_000));
    await waitFor('the neighbour sees the load', () => (loadSeen() ?? 0) >= 3, 5_000);
    await Promise.all(queries);
    await waitFor('the neighbour sees it fall', () => (loadSeen() ?? 5) <= 1, 5_000);
  });
});
