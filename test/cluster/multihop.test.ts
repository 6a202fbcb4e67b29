// A line A–B–C–D of static neighbours, the model only on D: a query entering at A travels
// three hops, is served by D, and says so in its response parameters. A hop bound the
// route cannot meet fails at once with FAILED_PRECONDITION.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callError } from '../node/grpc/helpers.ts';
import {
  infer, originsFor, paramNumber, paramString, rawVadRequest, removeTempDirs, startClusterNode, waitFor, type ClusterNode,
} from './helpers.ts';

let a: ClusterNode, b: ClusterNode, c: ClusterNode, d: ClusterNode;

beforeAll(async () => {
  d = await startClusterNode({ static: true });
  c = await startClusterNode({ static: true, noModels: true, bootstrap: [d.addrs[0] ?? ''] });
  b = await startClusterNode({ static: true, noModels: true, bootstrap: [c.addrs[0] ?? ''] });
  a = await startClusterNode({ static: true, noModels: true, bootstrap: [b.addrs[0] ?? ''] });
  await waitFor('A learns the route to D', () => originsFor(a, 'speech.vad.raw').has(d.peerId), 10_000);
});

afterAll(async () => {
  await Promise.all([a, b, c, d].filter((n) => n !== undefined).map((n) => n.close()));
  removeTempDirs();
});

describe('a line of four static nodes', () => {
  it('keeps static neighbours only: A is connected to B and nobody else', () => {
    expect(a.cluster().peers().map((p) => p.peerId)).toEqual([b.peerId]);
    expect(b.cluster().peers().map((p) => p.peerId).sort()).toEqual([a.peerId, c.peerId].sort());
  });

  it('A routes to D through B, three hops away', () => {
    const route = a.cluster().routes().find((r) => r.origin === d.peerId);
    expect(route).toMatchObject({ nextHop: b.peerId, hops: 3, local: false, capabilities: ['speech.vad.raw'] });
  });

  it('a query at A is served by D over A,B,C,D with cost and hop times', async () => {
    const res = await infer(a);
    expect(res.model_name).toBe('silero-vad');
    expect(res.raw_output_contents).toHaveLength(1);
    const p = res.parameters;
    expect(paramString(p, 'plexus.served_by')).toBe(d.peerId);
    expect(paramString(p, 'plexus.route')).toBe([a, b, c, d].map((n) => n.peerId).join(','));
    expect(paramNumber(p, 'plexus.cost')).toBe(0);
    const hopMs = (paramString(p, 'plexus.hop_ms') ?? '').split(',').map(Number);
    expect(hopMs).toHaveLength(4);
    for (const ms of hopMs) expect(ms).toBeGreaterThanOrEqual(0);
    // Each hop's time includes everything after it.
    for (let i = 1; i < hopMs.length; i++) expect(hopMs[i - 1]).toBeGreaterThanOrEqual(hopMs[i] ?? Infinity);
  });

  it('plexus.max_hops=2 fails at once with FAILED_PRECONDITION naming the hop bound', async () => {
    const t0 = Date.now();
    const err = await callError(a.inference, 'ModelInfer', rawVadRequest('speech.vad.raw', { 'plexus.max_hops': 2 }), 10_000);
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/max_hops/);
    expect(Date.now() - t0).toBeLessThan(5000);
    // max_hops=3 is enough.
    const ok = await infer(a, { 'plexus.max_hops': 3 });
    expect(paramString(ok.parameters, 'plexus.served_by')).toBe(d.peerId);
  });

  it('an unknown capability is NOT_FOUND, not a hang', async () => {
    const err = await callError(a.inference, 'ModelInfer', rawVadRequest('speech.nothing'), 10_000);
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });
});
