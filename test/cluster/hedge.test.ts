// Hedged requests (plexus.hedge_ms): the caller's preferred route (cheap, 1000 ms injected
// delay) has not answered when the hedge fires, so the next best provider (fast) is asked
// too and its answer wins; the slow try is cancelled. Without a hedge, or when the first
// route answers in time, exactly one provider serves the query.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { callError } from '../node/grpc/helpers.ts';
import { originsFor, infer, paramString, rawVadModel, rawVadRequest, removeTempDirs, startClusterNode, waitFor, type ClusterNode } from './helpers.ts';

let entry: ClusterNode, cheap: ClusterNode, fast: ClusterNode;

beforeAll(async () => {
  entry = await startClusterNode({ noModels: true, refreshMs: 1000 });
  const boot = [entry.addrs[0] ?? ''];
  cheap = await startClusterNode({ models: [rawVadModel({ price: 1, delayMs: 1000 })], bootstrap: boot, refreshMs: 1000 });
  fast = await startClusterNode({ models: [rawVadModel({ price: 10, delayMs: 0 })], bootstrap: boot, refreshMs: 1000 });
  await waitFor('the entry knows both providers', () => {
    const o = originsFor(entry, 'speech.vad.raw');
    return o.has(cheap.peerId) && o.has(fast.peerId);
  }, 10_000);
});

afterAll(async () => {
  await Promise.all([entry, cheap, fast].filter((n) => n !== undefined).map((n) => n.close()));
  removeTempDirs();
});

describe('hedged requests', () => {
  it('without a hedge the preferred (cheap, slow) provider serves', async () => {
    const res = await infer(entry, { 'plexus.prefer': 'cost' });
    expect(paramString(res.parameters, 'plexus.served_by')).toBe(cheap.peerId);
    expect(res.parameters['plexus.hedged']).toBeUndefined();
  });

  it('a hedge that fires sends the query to the next provider too, and its answer wins', async () => {
    const res = await infer(entry, { 'plexus.prefer': 'cost', 'plexus.hedge_ms': 50 });
    expect(paramString(res.parameters, 'plexus.served_by')).toBe(fast.peerId);
    expect(res.parameters['plexus.hedged']?.bool_param).toBe(true);
    // Entry first, the winner last (direct, unless measured links made the path through cheap shorter).
    const route = (paramString(res.parameters, 'plexus.route') ?? '').split(',');
    expect(route[0]).toBe(entry.peerId);
    expect(route.at(-1)).toBe(fast.peerId);
  });

  it('a hedge that does not fire changes nothing', async () => {
    const res = await infer(entry, { 'plexus.prefer': 'cost', 'plexus.hedge_ms': 5000 });
    expect(paramString(res.parameters, 'plexus.served_by')).toBe(cheap.peerId);
    expect(res.parameters['plexus.hedged']).toBeUndefined();
  });

  it('a bad hedge value is the caller\'s error', async () => {
    const err = await callError(entry.inference, 'ModelInfer', rawVadRequest('speech.vad.raw', { 'plexus.hedge_ms': 'soon' }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/plexus\.hedge_ms/);
  });
});
