// Scenario: durable jobs. A model-less entry daemon and two providers of speech.vad (their own
// processes, static links on loopback). The same WAV items go once as individual concurrent
// queries (PlexusClient.infer, N at a time) and once as one job with the same concurrency,
// watched to its end: items/s of each and their ratio, in one run. Then the job store's own
// cost, in-process on a temp dir: ms per item to accept a submission and to record a result
// (each a synchronous, fsync'd SQLite transaction) and bytes per item on disk.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { requireProjectFiles, spawnDaemon, stopAll, type DaemonProc } from '../procs.ts';
import { ratio, round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext } from '../types.ts';

const WAV = fileURLToPath(new URL('../../test/fixtures/speech-8k-mono.wav', import.meta.url));
const CONCURRENCY = 8;
const COLUMNS = ['items', 'concurrency', 'wallS', 'itemsPerS', 'msPerItem', 'bytesPerItem'] as const;

const p2p = (peers: readonly DaemonProc[], noModels = false): Record<string, unknown> =>
  ({ p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: peers.flatMap((p) => p.listenAddrs), static: true, noModels } });

const row = (label: string, v: Partial<Record<(typeof COLUMNS)[number], number | null>>): ResultRow =>
  ({ label, values: Object.fromEntries(COLUMNS.map((c) => [c, v[c] ?? null])) });

async function throughput(entry: DaemonProc, n: number, ctx: ScenarioContext): Promise<{ individualS: number; jobS: number; errors: number }> {
  const { PlexusClient } = await import('../../src/client/index.ts');
  const client = new PlexusClient(entry.grpc, { timeoutMs: 60_000 });
  const wav = readFileSync(WAV);
  const item = { model: 'speech.vad', inputs: [{ name: 'audio', datatype: 'BYTES' as const, shape: [1], data: [wav] }] };
  try {
    for (let i = 0; i < 100; i++) {
      if ((await client.listCapabilities({ capability: 'speech.vad' }))[0]?.providers.length === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, () => client.infer(item))); // warm both paths
    ctx.log(`jobs: ${n} individual queries, ${CONCURRENCY} at a time`);
    let next = 0;
    let errors = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) await client.infer(item).catch(() => { errors += 1; });
    }));
    const individualS = (performance.now() - t0) / 1000;
    ctx.log(`jobs: one job of ${n} items, concurrency ${CONCURRENCY}`);
    const t1 = performance.now();
    const { jobId } = await client.jobs.submitJob({ items: Array.from({ length: n }, () => item), concurrency: CONCURRENCY });
    let failed = 0;
    for await (const e of client.jobs.watchJob(jobId)) failed = e.job.failed + e.job.skipped;
    const jobS = (performance.now() - t1) / 1000;
    return { individualS, jobS, errors: errors + failed };
  } finally {
    client.close();
  }
}

async function storeCost(n: number): Promise<{ submitMs: number; recordMs: number; pendingBytes: number; doneBytes: number; itemBytes: number }> {
  const { openJobStore } = await import('../../src/node/jobs/store.ts');
  const { encodeQuery, encodeAnswer } = await import('../../src/node/jobs/codec.ts');
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-jobs-'));
  const file = join(dir, 'jobs.sqlite');
  const size = (): number => [file, `${file}-wal`].reduce((s, f) => { try { return s + statSync(f).size; } catch { return s; } }, 0);
  const store = openJobStore(file, 2 ** 40);
  try {
    const wav = readFileSync(WAV);
    const q = encodeQuery({ model: 'speech.vad', outputs: [], parameters: {}, inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [wav] }] });
    const answer = encodeAnswer({ model: 'silero-vad-segments', version: '1', id: 'x', parameters: { 'plexus.cost': 0 }, outputs: [{ name: 'segments', datatype: 'FP32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }] });
    const empty = size();
    const t0 = performance.now();
    store.createJob('bench', { deadlineMs: Date.now() + 3600_000, concurrency: 8, maxRetries: 2, idempotencyKey: '', itemTimeoutMs: 30_000, label: '' }, Array.from({ length: n }, () => q), false, Date.now());
    const submitMs = (performance.now() - t0) / n;
    const pendingBytes = (size() - empty) / n;
    const t1 = performance.now();
    for (let i = 0; i < n; i++) store.finishItem('bench', i, { state: 'DONE', status: 'OK', message: '', attempts: 1, cost: 0, servedBy: 'x', latencyMs: 1, answer }, Date.now());
    const recordMs = (performance.now() - t1) / n;
    return { submitMs, recordMs, pendingBytes, doneBytes: store.job('bench').bytes / n, itemBytes: wav.byteLength };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const jobsScenario: Scenario = {
  name: 'jobs',
  title: 'Durable jobs: job throughput vs the same items as individual concurrent queries, and the job store\'s cost per item',
  async run(ctx) {
    const started = performance.now();
    requireProjectFiles(['src/node/jobs/service.ts', 'src/client/jobs.ts']);
    const n = ctx.quick ? 100 : 400;
    const rows: ResultRow[] = [];
    const notes: string[] = [`items: ${WAV.split('/').pop() ?? ''} (speech.vad), entry node with no models, 2 providers, ${CONCURRENCY} in flight`];
    const providers = await Promise.all([0, 1].map(() => spawnDaemon({ node: p2p([]) })));
    const all = [...providers];
    let t: Awaited<ReturnType<typeof throughput>>;
    try {
      const entry = await spawnDaemon({ node: p2p(providers, true) });
      all.push(entry);
      t = await throughput(entry, n, ctx);
    } finally {
      await stopAll(all);
    }
    const qps = (s: number): number => n / s;
    rows.push(row('individual queries', { items: n, concurrency: CONCURRENCY, wallS: round(t.individualS), itemsPerS: round(qps(t.individualS)) }));
    rows.push(row('one job', { items: n, concurrency: CONCURRENCY, wallS: round(t.jobS), itemsPerS: round(qps(t.jobS)) }));
    if (t.errors > 0) notes.push(`${t.errors} items or queries failed`);
    ctx.log('jobs: store cost');
    const s = await storeCost(ctx.quick ? 500 : 2000);
    rows.push(row('store: accept (submit)', { msPerItem: round(s.submitMs), bytesPerItem: Math.round(s.pendingBytes) }));
    rows.push(row('store: record a result', { msPerItem: round(s.recordMs), bytesPerItem: Math.round(s.doneBytes) }));
    notes.push(`store: each item's input is ${s.itemBytes} bytes; it is dropped once the item's outcome is recorded (bytesPerItem after: answer + bookkeeping)`);
    return {
      name: 'jobs', title: this.title, status: 'ok', durationMs: performance.now() - started, columns: [...COLUMNS], rows, notes,
      metrics: {
        jobItemsPerS: qps(t.jobS), individualItemsPerS: qps(t.individualS), jobVsIndividual: ratio(qps(t.jobS), qps(t.individualS)),
        storeSubmitMsPerItem: s.submitMs, storeRecordMsPerItem: s.recordMs, storeBytesPerPendingItem: s.pendingBytes,
      },
    };
  },
};
