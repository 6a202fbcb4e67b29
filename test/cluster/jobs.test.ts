// Durable jobs on a real cluster: an entry node with no models (its own process, so it can be
// SIGKILLed) and two providers of speech.vad. A 50-item job of WAV files survives a SIGKILL of
// the entry node: restarted on the same data dir it finishes with exactly 50 results, each equal
// to a direct query's answer. Also: cancel, budget stop, idempotent resubmit with an unknown-model
// item, late watchers, and a provider SIGKILLed mid-job (its items are retried on the other).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlexusClient, type InferRequest, type JobEvent, type JobStatus } from '../../src/client/index.ts';
import { FIXTURES, SPEECH_WAV, toneWav } from '../node/grpc/helpers.ts';
import { removeTempDirs, startClusterNode, startDaemonProcess, tempDir, waitFor, type ClusterNode, type DaemonProcess } from './helpers.ts';

const PRICE = 1;
const models = (): unknown[] => [
  { name: 'silero-vad', path: 'builtin:silero-vad', capabilities: ['speech.vad.raw'], session: { intraOpThreads: 1, interOpThreads: 1 }, maxConcurrent: 4, maxQueue: 256 },
  // Each answer takes 100 ms more: a 50-item job runs long enough to be killed mid-way.
  { name: 'silero-vad-segments', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'], price: PRICE, fault: { delayMs: 100 } },
];
const WAVS = [SPEECH_WAV, readFileSync(path.join(FIXTURES, 'speech-8k-mono.wav')), readFileSync(path.join(FIXTURES, 'silence-16k.wav')), toneWav(0.5), toneWav(1.2)];
const vad = (wav: Uint8Array, model = 'speech.vad'): InferRequest => ({ model, inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [wav] }] });
const items = (n: number): InferRequest[] => Array.from({ length: n }, (_, i) => vad(WAVS[i % WAVS.length] ?? SPEECH_WAV));
const segments = (data: unknown): number[] => Array.from(data as Float32Array);

let p1: ClusterNode;
/** In its own process, so the last test can SIGKILL it. */
let p2: DaemonProcess;
let entry: DaemonProcess;
let entryDir: string;
let client: PlexusClient;
let direct: number[][];

async function startEntry(): Promise<void> {
  entry = await startDaemonProcess({ dataDir: entryDir, noModels: true, bootstrap: [p1.addrs[0] ?? '', p2.addrs[0] ?? ''] });
  client = new PlexusClient(entry.grpc);
}

async function untilEnd(jobId: string): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  for await (const e of client.jobs.watchJob(jobId)) events.push(e);
  return events;
}

async function poll(jobId: string, what: string, cond: (j: JobStatus) => boolean): Promise<JobStatus> {
  let last: JobStatus | undefined;
  await waitFor(what, async () => { last = (await client.jobs.getJob(jobId)).job; return cond(last); }, 20_000, 20);
  if (last === undefined) throw new Error('unreachable');
  return last;
}

beforeAll(async () => {
  [p1, p2] = await Promise.all([startClusterNode({ models: models() }), startDaemonProcess({ dataDir: tempDir(), models: models() })]);
  entryDir = tempDir('plexus-jobs-entry-');
  await startEntry();
  await waitFor('the entry node sees both providers', async () => {
    const caps = await client.listCapabilities({ capability: 'speech.vad' });
    return (caps[0]?.providers.length ?? 0) === 2;
  }, 20_000, 100);
  const local = new PlexusClient(p1.grpc);
  direct = await Promise.all(WAVS.map(async (w) => segments((await local.infer(vad(w))).output('segments').data)));
  local.close();
}, 60_000);

afterAll(async () => {
  client.close();
  await entry.kill();
  await p2.kill();
  await p1.close();
  removeTempDirs();
});

describe('a job of 50 WAV files through a model-less entry node', () => {
  it('survives a SIGKILL of the entry node: exactly 50 results after the restart, each equal to a direct answer', async () => {
    const { jobId } = await client.jobs.submitJob({ items: items(50), concurrency: 4, deadlineS: 120, label: 'wavs' });
    const before = await poll(jobId, '10 items done', (j) => j.done >= 10);
    expect(before.done).toBeLessThan(50);
    client.close();
    await entry.kill('SIGKILL');
    await startEntry();
    // A watcher that connects after the restart first gets the state as stored before the crash.
    const events = await untilEnd(jobId);
    expect(events[0]?.job.done).toBeGreaterThanOrEqual(before.done);
    expect(events.at(-1)?.job).toMatchObject({ state: 'COMPLETED', items: 50, done: 50, failed: 0, pending: 0, running: 0, cancelled: 0, skipped: 0 });
    const all = [];
    for (let start: number | undefined = 0; start !== undefined;) {
      const page = await client.jobs.getJob(jobId, { results: true, pageStart: start, pageSize: 20 });
      all.push(...page.items);
      start = page.nextPageStart;
    }
    expect(all.map((r) => r.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const r of all) {
      expect(r.state).toBe('DONE');
      expect(segments(r.result?.output('segments').data)).toEqual(direct[r.index % WAVS.length]);
    }
    // Spread over both providers by the routing policy, and paid once per recorded item.
    expect(new Set(all.map((r) => r.servedBy))).toEqual(new Set([p1.peerId, p2.peerId]));
    expect(events.at(-1)?.job.cost).toBe(50 * PRICE);
  }, 60_000);

  it('cancels: pending items never start, the job ends CANCELLED', async () => {
    const { jobId } = await client.jobs.submitJob({ items: items(30), concurrency: 2 });
    await poll(jobId, '2 items done', (j) => j.done >= 2);
    const cancelled = await client.jobs.cancelJob(jobId);
    expect(cancelled.state).toBe('CANCELLED');
    expect(cancelled.cancelled).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 400));
    const after = (await client.jobs.getJob(jobId)).job;
    expect(after).toMatchObject({ state: 'CANCELLED', done: cancelled.done, pending: 0, running: 0 });
    expect(after.done + after.cancelled).toBe(30);
  }, 30_000);

  it('stops at the budget and says so; a late watcher gets the final state at once', async () => {
    const { jobId } = await client.jobs.submitJob({ items: items(20), concurrency: 4, maxCost: 5 * PRICE });
    const events = await untilEnd(jobId);
    const job = events.at(-1)?.job;
    expect(job).toMatchObject({ state: 'BUDGET_EXHAUSTED', done: 5, skipped: 15, cost: 5 * PRICE, maxCost: 5 * PRICE });
    expect(job?.stopReason).toMatch(/budget/);
    const late = await untilEnd(jobId);
    expect(late).toHaveLength(1);
    expect(late[0]?.job).toEqual(job);
  }, 30_000);

  it('returns the same job for a resubmission with the same idempotency key; an unknown model fails only its item', async () => {
    const spec = { items: [vad(SPEECH_WAV), vad(SPEECH_WAV, 'no.such.model')], idempotencyKey: 'batch-42' };
    const [a, b] = [await client.jobs.submitJob(spec), await client.jobs.submitJob(spec)];
    expect(b).toEqual({ ...a, existing: true });
    const job = (await untilEnd(a.jobId)).at(-1)?.job;
    expect(job).toMatchObject({ state: 'COMPLETED', done: 1, failed: 1, failures: { NOT_FOUND: 1 } });
    expect((await client.jobs.listJobs()).filter((j) => j.idempotencyKey === 'batch-42')).toHaveLength(1);
  }, 30_000);

  it('retries the items of a provider SIGKILLed mid-job on the other one', async () => {
    const { jobId } = await client.jobs.submitJob({ items: items(16), concurrency: 4, maxRetries: 5, deadlineS: 30 });
    await poll(jobId, '4 items done', (j) => j.done >= 4);
    await p2.kill('SIGKILL');
    const job = (await untilEnd(jobId)).at(-1)?.job;
    expect(job).toMatchObject({ state: 'COMPLETED', done: 16, failed: 0 });
    const { items: after } = await client.jobs.getJob(jobId, { items: true });
    expect(after.filter((i) => i.servedBy === p1.peerId).length).toBeGreaterThan(0);
  }, 30_000);
});
