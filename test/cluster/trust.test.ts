// Peers accountable on real daemons (issue 9), driven by the testing-only fault knobs: a liar
// (advertises 0 ms, answers in 2 s), a black hole (accepts, never answers) and a corrupter
// (answers wrong). The entry node E hosts nothing; H and H2 are honest. Each misbehaving node
// serves its own capability beside H, so the counts of one test do not disturb another.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { formatRoutes } from '../../src/cli/cluster.ts';
import { formatRoute } from '../../src/cli/format.ts';
import { PlexusClient } from '../../src/client/index.ts';
import { rawVadInputs } from '../client/helpers.ts';
import { clusterSnapshot } from '../../src/node/http/cluster-api.ts';
import { witnessesIn } from '../../src/node/verify/verifier.ts';
import { call } from '../node/grpc/helpers.ts';
import { infer, paramString, rawVadRequest, removeTempDirs, startClusterNode, waitFor, type ClusterNode, type InferResponse } from './helpers.ts';

function vad(name: string, capabilities: string[], fault: Record<string, number> = {}): Record<string, unknown> {
  return {
    name, path: 'builtin:silero-vad', capabilities, session: { intraOpThreads: 1, interOpThreads: 1 },
    maxConcurrent: 4, maxQueue: 256, fault: { delayMs: 0, errorRate: 0, ...fault },
  };
}

let e: ClusterNode;
let h: ClusterNode;
let h2: ClusterNode;
let liar: ClusterNode;
let hole: ClusterNode;
let hole2: ClusterNode;
let corrupter: ClusterNode;

beforeAll(async () => {
  e = await startClusterNode({ noModels: true });
  const boot = [e.addrs[0] ?? ''];
  [h, h2, liar, hole, corrupter, hole2] = await Promise.all([
    startClusterNode({ bootstrap: boot, models: [vad('vad-h', ['vad.a', 'vad.b', 'vad.d']), vad('vad-c', ['vad.c'])] }),
    startClusterNode({ bootstrap: boot, models: [vad('vad-c', ['vad.c'])] }),
    startClusterNode({ bootstrap: boot, models: [vad('vad-l', ['vad.a'], { delayMs: 2000, advertiseComputeMs: 0 })] }),
    startClusterNode({ bootstrap: boot, models: [vad('vad-b', ['vad.b'], { dropRate: 1, advertiseComputeMs: 0 })] }),
    startClusterNode({ bootstrap: boot, models: [vad('vad-c', ['vad.c'], { corruptRate: 1, advertiseComputeMs: 0 })] }),
    // A second black hole, for callers that set plexus.deadline_ms (its own peer: demotion is per peer).
    startClusterNode({ bootstrap: boot, models: [vad('vad-d', ['vad.d'], { dropRate: 1, advertiseComputeMs: 0 })] }),
  ]);
  const routes = (): Set<string> => new Set(e.cluster().routes().map((r) => `${r.origin}/${r.model}`));
  await waitFor('E knows every provider', () => {
    const r = routes();
    return [`${h.peerId}/vad-h`, `${liar.peerId}/vad-l`, `${hole.peerId}/vad-b`, `${corrupter.peerId}/vad-c`, `${h2.peerId}/vad-c`, `${h.peerId}/vad-c`, `${hole2.peerId}/vad-d`].every((k) => r.has(k));
  }, 15_000);
}, 40_000);

afterAll(async () => {
  await Promise.all([h, h2, liar, hole, corrupter, hole2, e].map((n) => n.close()));
  removeTempDirs();
});

const trustOf = (n: ClusterNode, peer: string): string => n.cluster().trust().find((t) => t.peer === peer)?.state ?? 'ok';

describe('claims checked by measurement', () => {
  it('the liar (advertises 0 ms, answers in 2 s) serves at most 3 queries before it is ranked by what it measures', async () => {
    const servedBy: string[] = [];
    for (let i = 0; i < 12; i++) {
      // The first query pinned to the liar (its claim makes it a first choice anyway, but
      // power-of-two-choices among near-equal claims may pick H first).
      const res = await infer(e, i === 0 ? { 'plexus.peer': liar.peerId } : {}, 10_000, 'vad.a');
      servedBy.push(paramString(res.parameters, 'plexus.served_by') ?? '');
    }
    const toLiar = servedBy.filter((p) => p === liar.peerId).length;
    console.log(`liar: ${toLiar} of ${servedBy.length} queries, 0 failed`);
    expect(toLiar).toBeGreaterThanOrEqual(1);
    expect(toLiar).toBeLessThanOrEqual(3);
    expect(servedBy.slice(-6).every((p) => p === h.peerId)).toBe(true);
    expect(e.cluster().trust().find((t) => t.peer === liar.peerId)?.measuredMs['vad-l']).toBeGreaterThan(1500);
  }, 30_000);

  it('the black hole (accepts, never answers) is demoted under a plain gRPC deadline: few queries lost, doubling back-off', async () => {
    // Its claim (0 ms) makes it a first choice; a caller pinning it shows the rule without
    // depending on which of the near-equal providers power-of-two-choices picks first.
    const pinned = await infer(e, { 'plexus.peer': hole.peerId }, 1500, 'vad.b').catch((err: unknown) => err as grpc.ServiceError);
    expect('code' in pinned && pinned.code).toBe(4); // DEADLINE_EXCEEDED: the caller's own gRPC deadline
    // (The server sees the deadline a moment after the client does.)
    await waitFor('E demotes the hole', () => trustOf(e, hole.peerId) === 'demoted', 1000, 5);
    let failed = 1;
    const servedBy = new Set<string>();
    const started = Date.now();
    for (let i = 0; i < 12; i++) {
      const res = await infer(e, {}, 1500, 'vad.b').catch((err: unknown) => err as grpc.ServiceError);
      if ('code' in res) {
        expect(res.details).toMatch(/deadline/i);
        failed++;
      } else {
        servedBy.add(paramString(res.parameters, 'plexus.served_by') ?? '');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`black hole: ${failed} of 13 queries lost (the first pinned to it) in ${seconds.toFixed(1)} s`);
    // Back-off 1 s, 2 s, 4 s...: within `seconds` the hole can be tried again at most ~log2(seconds)
    // times (+1 for an honest try cut short on a starved machine).
    expect(failed).toBeLessThanOrEqual(1 + Math.ceil(Math.log2(seconds + 1)) + 1);
    expect([...servedBy]).toEqual([h.peerId]);
    expect(e.cluster().trust().find((t) => t.peer === hole.peerId)?.faults).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('the black hole is demoted when the caller sets plexus.deadline_ms below its gRPC deadline too: it gets 1 query, then few', async () => {
    // Queries the hole received: its runs (it drops each answer after running the model).
    const received = async (): Promise<number> => {
      const m = await hole2.node.metrics.registry.getSingleMetric('plexus_compute_seconds')?.get();
      return m?.values.filter((v) => (v as { metricName?: string }).metricName === 'plexus_compute_seconds_count' && v.labels.model === 'vad-d').reduce((a, v) => a + v.value, 0) ?? 0;
    };
    const before = await received();
    const ask = (params: Record<string, string>): Promise<InferResponse | grpc.ServiceError> =>
      infer(e, { 'plexus.deadline_ms': '1000', ...params }, 5000, 'vad.d').catch((err: unknown) => err as grpc.ServiceError);
    // The node's own timer (1 s) ends the pinned try long before the caller's 5 s gRPC deadline.
    const pinned = await ask({ 'plexus.peer': hole2.peerId });
    expect('code' in pinned && pinned.code).toBe(4);
    // Demoted before the caller hears back, whichever timer ended the try: E's, or the hole's
    // own (plexus.deadline_ms travels with the query, and the hole then reports DEADLINE_EXCEEDED).
    expect(trustOf(e, hole2.peerId)).toBe('demoted');
    expect(await received() - before).toBe(1);
    let failed = 1;
    const servedBy = new Set<string>();
    const started = Date.now();
    for (let i = 0; i < 12; i++) {
      const res = await ask({});
      if ('code' in res) failed++;
      else servedBy.add(paramString(res.parameters, 'plexus.served_by') ?? '');
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (Date.now() - started) / 1000;
    const got = await received() - before;
    console.log(`black hole (plexus.deadline_ms): got ${got} of 13 queries, ${failed} failed, in ${seconds.toFixed(1)} s`);
    // Back-off 1 s, 2 s, 4 s...: as with a plain gRPC deadline (+1 for a try cut short on a starved machine).
    expect(got).toBeLessThanOrEqual(1 + Math.ceil(Math.log2(seconds + 1)) + 1);
    expect(failed).toBeLessThanOrEqual(got);
    expect([...servedBy]).toEqual([h.peerId]);
  }, 30_000);
});

describe('answers checked by re-execution', () => {
  it('with plexus.verify=true no wrong answer reaches the caller; the corrupter is quarantined and shown so', async () => {
    // The check needs both honest providers of vad-c in good standing and among E's witnesses (the
    // verifier's own list: a provider marked down after a failed try, or expected slower than the
    // deadline, is left out while others are usable). On a starved machine the tests above can
    // leave H out for a while, and then no third opinion exists: "no third provider could answer"
    // (CI, about 1 full run in 4, cause not confirmed). A timeout here names the missing condition.
    const witnesses = witnessesIn(e.cluster().table(), e.peerId);
    await waitFor('E trusts H and H2 again', () => trustOf(e, h.peerId) === 'ok' && trustOf(e, h2.peerId) === 'ok', 20_000);
    await waitFor('E would ask H and H2 as witnesses for vad-c', () => {
      const asked = witnesses('vad-c', '1', new Set(), Date.now() + 10_000).map((c) => c.origin);
      return asked.includes(h.peerId) && asked.includes(h2.peerId);
    }, 20_000);
    const truth = (await call<InferResponse>(h2.inference, 'ModelInfer', rawVadRequest('vad-c'), 10_000)).raw_output_contents[0];
    let wrong = 0;
    let verified = 0;
    const servedBy = new Set<string>();
    for (let i = 0; i < 8; i++) {
      // The first pinned to the corrupter (power-of-two-choices might not pick it first).
      const res = await infer(e, { 'plexus.verify': 'true', ...(i === 0 ? { 'plexus.peer': corrupter.peerId } : {}) }, 10_000, 'vad.c');
      if (!res.raw_output_contents[0]?.equals(truth ?? Buffer.alloc(0))) wrong++;
      if (paramString(res.parameters, 'plexus.verified_by') !== undefined) verified++;
      servedBy.add(paramString(res.parameters, 'plexus.served_by') ?? '');
    }
    console.log(`corrupter with plexus.verify=true: ${wrong} wrong answers of 8, ${verified} verified`);
    expect(wrong).toBe(0);
    expect(verified).toBe(8);
    expect(servedBy.has(corrupter.peerId)).toBe(false);
    expect(trustOf(e, corrupter.peerId)).toBe('quarantined');
    expect(trustOf(e, h.peerId)).toBe('ok');
    expect(trustOf(e, h2.peerId)).toBe('ok');
    // Visible in GetRoutes (`plexus routes`) and in the metrics.
    const routes = await call<{ routes: Parameters<typeof formatRoutes>[0][number][] }>(e.plexus, 'GetRoutes', { model: 'vad.c' });
    expect(routes.routes.find((r) => r.origin === corrupter.peerId)?.trust).toBe('quarantined');
    expect(formatRoutes(routes.routes).split('\n').filter((l) => l.includes(corrupter.peerId.slice(-8)))[0]).toMatch(/quarantined$/);
    const peers = await call<{ peers: { peer_id: string; trust: string }[] }>(e.plexus, 'ListPeers', {});
    expect(peers.peers.find((p) => p.peer_id === corrupter.peerId)?.trust).toBe('quarantined');
    // And in the dashboard's /api/cluster JSON.
    const api = clusterSnapshot({ peerId: () => e.peerId, models: () => [], cluster: () => e.cluster() });
    expect(api.routes.find((r) => r.origin === corrupter.peerId)?.trust).toBe('quarantined');
    expect(api.trust.find((t) => t.peer === corrupter.peerId)).toMatchObject({ state: 'quarantined', wrongAnswers: 1 });
    const metrics = await e.node.metrics.registry.getSingleMetric('plexus_verification_failures_total')?.get();
    expect(metrics?.values.find((v) => v.labels.peer === corrupter.peerId)?.value).toBe(1);
    // Its routes are ignored from now on: unverified queries go to the honest ones too.
    for (let i = 0; i < 4; i++) expect(paramString((await infer(e, {}, 10_000, 'vad.c')).parameters, 'plexus.served_by')).not.toBe(corrupter.peerId);
  }, 30_000);

  it('plexus/client and plexus query show who verified an answer', async () => {
    const client = new PlexusClient(e.grpc, { timeoutMs: 10_000 });
    try {
      const res = await client.infer({ model: 'vad.c', inputs: rawVadInputs(), parameters: { 'plexus.verify': true } });
      const { servedBy = '', verifiedBy = '' } = res.route ?? {};
      // The corrupter is quarantined by now: one honest provider served, the other confirmed it.
      expect([h.peerId, h2.peerId]).toContain(servedBy);
      expect([h.peerId, h2.peerId]).toContain(verifiedBy);
      expect(verifiedBy).not.toBe(servedBy);
      expect(verifiedBy).toBe(res.parameters['plexus.verified_by']);
      expect(formatRoute(res.parameters)).toMatch(new RegExp(`^served by …${servedBy.slice(-8)} via .*, verified by …${verifiedBy.slice(-8)}\n$`));
    } finally {
      client.close();
    }
  }, 20_000);

  it('a bad plexus.verify value is INVALID_ARGUMENT', async () => {
    await expect(infer(e, { 'plexus.verify': 'maybe' }, 5000, 'vad.c')).rejects.toMatchObject({ code: 3 });
  });
});
