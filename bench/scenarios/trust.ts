// Scenario: peers accountable (issue 9). Three honest-looking providers of raw silero-vad, one
// of them a corrupter that also lies about its compute time (advertises 0 ms, answers every
// query with altered outputs), behind an entry node that hosts nothing. The same load runs with
// verification off, at the default sample rate and with plexus.verify=true on every query, each
// time through a fresh entry node (what it has learnt about the corrupter is its own): how many
// queries the corrupter served, how many wrong answers reached the caller, and what checking
// cost (model runs per query at the providers, latency). In-process nodes: real gRPC and libp2p
// on loopback, each node with its own metrics registry.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileModelSpecs } from '../../src/inference/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { createPlexusNode, type PlexusNode } from '../../src/node/daemon.ts';
import { compileNodeOptions } from '../../src/node/options.ts';
import { DEFAULT_VERIFY_RATE } from '../../src/node/verify/verifier.ts';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { openSealed, openWith, sealTo, sealWith } from '../../src/node/verify/seal.ts';
import type { Tensor } from '../../src/inference/types.ts';
import { sileroInput } from '../models/silero.ts';
import { createKServeClient, sileroInferRequest } from '../kserve-client.ts';
import { SILERO_MODEL } from '../models/silero.ts';
import { percentileSorted, round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioResult } from '../types.ts';
import { sileroSpec } from './plexus.ts';

interface Started { readonly node: PlexusNode; readonly grpc: string; readonly addr: string; readonly peerId: string; readonly dir: string }

async function startNode(models: unknown[], opts: { bootstrap?: string[]; rate?: number } = {}): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-trust-'));
  const compiled = compileNodeOptions({
    grpc: '127.0.0.1:0', dataDir: dir, logLevel: 'silent', listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: opts.bootstrap ?? [], noModels: models.length === 0,
  });
  const p2p = compiled.p2p;
  if (p2p === undefined) throw new Error('no p2p options');
  const node = createPlexusNode({
    ...compiled, models: compileModelSpecs(models, process.cwd()),
    p2p: { ...p2p, verify: { rate: opts.rate ?? p2p.verify?.rate ?? DEFAULT_VERIFY_RATE, tolerances: {} } },
  }, { logger: silentLogger(), p2p: { refreshMs: 1000 } });
  const s = await node.start();
  return { node, grpc: s.grpc, addr: s.multiaddrs[0] ?? '', peerId: s.peerId, dir };
}

async function stopNode(n: Started): Promise<void> {
  await n.node.stop();
  rmSync(n.dir, { recursive: true, force: true });
}

/** Model runs so far at a provider (one per raw query: no batching here). */
async function runs(n: Started): Promise<number> {
  const m = await n.node.metrics.registry.getSingleMetric('plexus_compute_seconds')?.get();
  return (m?.values ?? []).filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count') === true).reduce((a, v) => a + v.value, 0);
}

interface Wire { parameters: Record<string, { string_param?: string }>; raw_output_contents: Buffer[] }

const answerKey = (r: Wire): string => Buffer.concat(r.raw_output_contents).toString('base64');

/** The cost of plexus.seal: the crypto alone (in process), and end to end on one provider, off vs on. */
async function sealCost(provider: Started, queries: number, rows: ResultRow[], metrics: Record<string, number | null>, log: (m: string) => void): Promise<void> {
  log('trust: plexus.seal cost');
  const key = await generateKeyPair('Ed25519');
  const id = peerIdFromPrivateKey(key).toString();
  const input = sileroInput();
  const tensors: Tensor[] = [
    { name: 'input', datatype: 'FP32', shape: [1, input.length], data: input },
    { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Float32Array(256) },
    { name: 'sr', datatype: 'INT64', shape: [], data: BigInt64Array.from([16000n]) },
  ];
  const n = 500;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const { sealed, secret } = sealTo(id, tensors);
    const opened = openSealed(key, sealed);
    openWith(secret, sealWith(opened.secret, tensors.slice(0, 1)));
  }
  const cryptoUs = ((performance.now() - t0) * 1000) / n;
  const entry = await startNode([], { bootstrap: [provider.addr], rate: 0 });
  const client = createKServeClient(entry.grpc);
  try {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (entry.node.cluster()?.routes().length ?? 0) < 1) await new Promise((r) => setTimeout(r, 50));
    for (const seal of [false, true]) {
      const request = sileroInferRequest(SILERO_MODEL, seal ? { 'plexus.seal': { string_param: 'true' } } : {});
      for (let i = 0; i < 20; i++) await client.infer(request, 10_000);
      const lat: number[] = [];
      for (let i = 0; i < queries; i++) {
        const q0 = performance.now();
        await client.infer(request, 10_000);
        lat.push(performance.now() - q0);
      }
      lat.sort((a, b) => a - b);
      rows.push({
        label: seal ? 'plexus.seal=true (1 hop, c=1)' : 'plexus.seal off (1 hop, c=1)',
        values: { queries, p50Ms: round(percentileSorted(lat, 50)), p99Ms: round(percentileSorted(lat, 99)), ...(seal ? { sealCryptoUs: round(cryptoUs) } : {}) },
      });
      metrics[seal ? 'sealP50Ms' : 'unsealedP50Ms'] = round(percentileSorted(lat, 50));
    }
    metrics['sealCryptoUs'] = round(cryptoUs);
  } finally {
    client.close();
    await stopNode(entry);
  }
}

export const trustScenario: Scenario = {
  name: 'trust',
  title: 'Trust: a corrupting provider that lies about its speed, verification off / sampled / plexus.verify=true',
  async run(ctx): Promise<ScenarioResult> {
    const started = performance.now();
    const queries = ctx.quick ? 200 : 400;
    const concurrency = 4;
    // The honest providers take 5 ms a query (a real model's compute); the corrupter claims 0 ms
    // and really is fast, so unchecked it wins most of the traffic (the rogue won all of it).
    const honest = { fault: { delayMs: 5, errorRate: 0 } };
    const providers = [
      await startNode([sileroSpec(honest)]),
      await startNode([sileroSpec(honest)]),
      await startNode([sileroSpec({ fault: { delayMs: 0, errorRate: 0, corruptRate: 1, advertiseComputeMs: 0 } })]),
    ];
    const corrupter = providers[2] as Started;
    const rows: ResultRow[] = [];
    const metrics: Record<string, number | null> = {};
    try {
      const direct = createKServeClient((providers[0] as Started).grpc);
      const truth = answerKey(await direct.infer(sileroInferRequest(SILERO_MODEL), 10_000) as Wire);
      direct.close();
      // Warm every provider's session up (directly, so no entry node learns anything).
      for (const p of providers) {
        const c = createKServeClient(p.grpc);
        for (let i = 0; i < 20; i++) await c.infer(sileroInferRequest(SILERO_MODEL), 10_000);
        c.close();
      }
      const modes = [
        { label: 'verification off', key: 'off', rate: 0, params: {} },
        { label: `sampled (node.verify.rate ${DEFAULT_VERIFY_RATE})`, key: 'sampled', rate: DEFAULT_VERIFY_RATE, params: {} },
        { label: 'plexus.verify=true', key: 'always', rate: 0, params: { 'plexus.verify': { string_param: 'true' } } },
      ] as const;
      for (const mode of modes) {
        ctx.log(`trust: ${mode.label}`);
        const entry = await startNode([], { bootstrap: providers.map((p) => p.addr), rate: mode.rate });
        const client = createKServeClient(entry.grpc);
        try {
          const request = sileroInferRequest(SILERO_MODEL, mode.params);
          const deadline = Date.now() + 20_000;
          while (Date.now() < deadline && (entry.node.cluster()?.routes().length ?? 0) < 3) await new Promise((r) => setTimeout(r, 50));
          const before = await Promise.all(providers.map(runs));
          let next = 0;
          let servedByCorrupter = 0;
          let wrong = 0;
          let errors = 0;
          const latencies: number[] = [];
          const worker = async (): Promise<void> => {
            while (next < queries) {
              next++;
              const t0 = performance.now();
              try {
                const res = await client.infer(request, 10_000) as Wire;
                latencies.push(performance.now() - t0);
                if (res.parameters['plexus.served_by']?.string_param === corrupter.peerId) servedByCorrupter++;
                if (answerKey(res) !== truth) wrong++;
              } catch {
                errors++;
              }
            }
          };
          await Promise.all(Array.from({ length: concurrency }, worker));
          // Sampled checks run after the answer: let the last ones finish before counting runs.
          await new Promise((r) => setTimeout(r, 300));
          const after = await Promise.all(providers.map(runs));
          const totalRuns = after.reduce((a, x, i) => a + x - (before[i] ?? 0), 0);
          const quarantined = entry.node.cluster()?.trust().find((t) => t.peer === corrupter.peerId)?.state === 'quarantined';
          const sorted = [...latencies].sort((a, b) => a - b);
          rows.push({
            label: mode.label,
            values: {
              queries, errors, servedByCorrupterPct: round((100 * servedByCorrupter) / queries), wrongToCaller: wrong,
              runsPerQuery: round(totalRuns / queries), p50Ms: round(percentileSorted(sorted, 50)), p99Ms: round(percentileSorted(sorted, 99)),
              corrupterQuarantined: quarantined ? 'yes' : 'no',
            },
          });
          metrics[`${mode.key}WrongToCaller`] = wrong;
          metrics[`${mode.key}ServedByCorrupterPct`] = round((100 * servedByCorrupter) / queries);
          metrics[`${mode.key}RunsPerQuery`] = round(totalRuns / queries);
        } finally {
          client.close();
          await stopNode(entry);
        }
      }
      await sealCost(providers[0] as Started, queries, rows, metrics, (m) => { ctx.log(m); });
    } finally {
      await Promise.all(providers.map(stopNode));
    }
    return {
      name: 'trust', title: this.title, status: 'ok', durationMs: performance.now() - started,
      columns: ['queries', 'errors', 'servedByCorrupterPct', 'wrongToCaller', 'runsPerQuery', 'p50Ms', 'p99Ms', 'corrupterQuarantined', 'sealCryptoUs'], rows, metrics,
      notes: [
        'Providers: 2 honest (5 ms a query, fault.delayMs) + 1 corrupter advertising 0 ms compute (fault.corruptRate 1, fault.advertiseComputeMs 0); the entry node hosts nothing and is fresh per row.',
        `concurrency ${concurrency}; runsPerQuery = model runs at all providers / queries (1.00 = no verification cost; re-execution adds a run per checked answer, two when answers disagree).`,
        'plexus.seal rows: an honest provider (5 ms a query) through a fresh entry node, one query at a time; sealCryptoUs = seal + open of the silero request and its answer in process (both ends\' work).',
      ],
    };
  },
};
