// Two providers of one capability behind an entry node: CHEAP (price 1, 1000 ms injected
// delay) and FAST (price 10, 20 ms delay). The caller's plexus.* parameters pick between
// them, and constraints nobody can meet fail at once instead of waiting for a timeout.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callError } from '../node/grpc/helpers.ts';
import {
  infer, originsFor, paramNumber, paramString, rawVadModel, rawVadRequest, removeTempDirs, startClusterNode, waitFor, type ClusterNode,
} from './helpers.ts';

// Far apart, so a busy CI machine (which slows the fast path too) cannot blur the choice.
const SLOW_MS = 1000;
// Below half the slow delay: the expected latency blends the advert (compute only) with what calls took.
const BETWEEN_MS = 400;
let entry: ClusterNode, cheap: ClusterNode, fast: ClusterNode;

const servedBy = async (params: Record<string, string | number>, timeoutMs = 10_000): Promise<string | undefined> =>
  paramString((await infer(entry, params, timeoutMs)).parameters, 'plexus.served_by');

beforeAll(async () => {
  entry = await startClusterNode({ noModels: true });
  const boot = [entry.addrs[0] ?? ''];
  cheap = await startClusterNode({ models: [rawVadModel({ price: 1, delayMs: SLOW_MS })], bootstrap: boot });
  fast = await startClusterNode({ models: [rawVadModel({ price: 10, delayMs: 20 })], bootstrap: boot });
  await waitFor('the entry knows both providers', () => {
    const o = originsFor(entry, 'speech.vad.raw');
    return o.has(cheap.peerId) && o.has(fast.peerId);
  }, 10_000);
  // The latency metric learns from calls: a few pinned ones to each provider.
  for (let i = 0; i < 3; i++) {
    expect(await servedBy({ 'plexus.peer': cheap.peerId })).toBe(cheap.peerId);
    expect(await servedBy({ 'plexus.peer': fast.peerId })).toBe(fast.peerId);
  }
});

afterAll(async () => {
  await Promise.all([entry, cheap, fast].filter((n) => n !== undefined).map((n) => n.close()));
  removeTempDirs();
});

describe('choosing between a cheap slow provider and an expensive fast one', () => {
  it('prefer=cost picks the cheap one and reports its price', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await infer(entry, { 'plexus.prefer': 'cost' });
      expect(paramString(res.parameters, 'plexus.served_by')).toBe(cheap.peerId);
      expect(paramNumber(res.parameters, 'plexus.cost')).toBe(1);
    }
  });

  it('prefer=latency picks the fast one', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await infer(entry, { 'plexus.prefer': 'latency' });
      expect(paramString(res.parameters, 'plexus.served_by')).toBe(fast.peerId);
      expect(paramNumber(res.parameters, 'plexus.cost')).toBe(10);
    }
  });

  it('plexus.max_cost excludes the expensive one, whatever the preference', async () => {
    for (let i = 0; i < 3; i++) expect(await servedBy({ 'plexus.prefer': 'latency', 'plexus.max_cost': 5 })).toBe(cheap.peerId);
  });

  it('a deadline shorter than the slow path picks the fast one, even when cost is preferred', async () => {
    for (let i = 0; i < 3; i++) expect(await servedBy({ 'plexus.prefer': 'cost', 'plexus.deadline_ms': BETWEEN_MS })).toBe(fast.peerId);
    // The transport deadline counts the same way.
    for (let i = 0; i < 3; i++) expect(await servedBy({ 'plexus.prefer': 'cost' }, BETWEEN_MS)).toBe(fast.peerId);
  });

  it('a budget nobody meets fails at once with FAILED_PRECONDITION', async () => {
    const t0 = Date.now();
    const err = await callError(entry.inference, 'ModelInfer', rawVadRequest('speech.vad.raw', { 'plexus.max_cost': 0.5 }), 10_000);
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/max_cost/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a deadline nobody meets fails at once with DEADLINE_EXCEEDED', async () => {
    let t0 = Date.now();
    let err = await callError(entry.inference, 'ModelInfer', rawVadRequest('speech.vad.raw', { 'plexus.deadline_ms': 3 }), 10_000);
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(err.details).toMatch(/deadline/);
    expect(Date.now() - t0).toBeLessThan(2000);
    // Pinned to the slow provider with a deadline it cannot meet: refused before it is tried.
    t0 = Date.now();
    err = await callError(entry.inference, 'ModelInfer', rawVadRequest('speech.vad.raw', { 'plexus.peer': cheap.peerId, 'plexus.deadline_ms': BETWEEN_MS }), 10_000);
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - t0).toBeLessThan(BETWEEN_MS);
  });

  it('a pin to a peer that serves nothing is FAILED_PRECONDITION', async () => {
    const err = await callError(entry.inference, 'ModelInfer', rawVadRequest('speech.vad.raw', { 'plexus.peer': entry.peerId }), 10_000);
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/plexus\.peer/);
  });
});
