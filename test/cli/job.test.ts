// `plexus job ...` as a user runs it (bash bin/plexus, separate processes) against a real
// in-process routing node: submit a directory (one item per file) prints the id at once, watch
// prints JSON lines when stdout is not a terminal and exits 1 when an item failed, get --json
// has each answer's segments, list shows the job, cancel ends a running one, usage errors exit 2.
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, startClusterNode, tempDir, type ClusterNode } from '../cluster/helpers.ts';
import { FIXTURES } from '../node/grpc/helpers.ts';
import { plexus } from './run-plexus.ts';


let node: ClusterNode;
let dir: string;

beforeAll(async () => {
  node = await startClusterNode({
    models: [
      { name: 'silero-vad', path: 'builtin:silero-vad', capabilities: ['speech.vad.raw'], session: { intraOpThreads: 1, interOpThreads: 1 } },
      { name: 'silero-vad-segments', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'], price: 2, fault: { delayMs: 50 } },
    ],
  });
  dir = tempDir('plexus-job-cli-');
  ['speech-22k-mono.wav', 'speech-8k-mono.wav', 'silence-16k.wav'].forEach((f, i) => copyFileSync(path.join(FIXTURES, f), path.join(dir, `${i}-${f}`)));
  writeFileSync(path.join(dir, '3-garbage.wav'), 'not a wav file at all');
});

afterAll(async () => {
  await node.close();
  removeTempDirs();
});

describe('plexus job', () => {
  it('submits a directory, watches it to the end (JSON lines), and gets the answers', async () => {
    const submit = await plexus(['job', 'submit', '--target', node.grpc, '--model', 'speech.vad', '--input', dir, '--concurrency', '2', '--deadline-s', '60']);
    expect(submit.stderr).not.toMatch(/plexus:/);
    expect(submit.code).toBe(0);
    const jobId = submit.stdout.trim();
    expect(jobId).toMatch(/^job-[0-9a-f]{20}$/);

    const watch = await plexus(['job', 'watch', '--target', node.grpc, jobId]);
    expect(watch.code).toBe(1); // the garbage file failed
    const events = watch.stdout.trim().split('\n').map((l) => JSON.parse(l) as { job: { state: string; done: number; failed: number; failures: Record<string, number> }; item?: { status: string } });
    expect(events.at(-1)?.job).toMatchObject({ state: 'COMPLETED', done: 3, failed: 1, failures: { INVALID_ARGUMENT: 1 } });

    const get = await plexus(['job', 'get', '--target', node.grpc, jobId, '--json']);
    expect(get.code).toBe(0);
    const details = JSON.parse(get.stdout) as { job: { cost: number }; items: { index: number; state: string; segments?: { start: number; end: number }[] }[] };
    expect(details.job.cost).toBe(6);
    expect(details.items.map((i) => i.state)).toEqual(['DONE', 'DONE', 'DONE', 'FAILED']);
    expect(details.items[0]?.segments?.length).toBeGreaterThan(0);
    expect(details.items[2]?.segments).toEqual([]);

    const list = await plexus(['job', 'list', '--target', node.grpc]);
    expect(list.stdout).toMatch(new RegExp(`${jobId}\\s+COMPLETED\\s+4\\s+3\\s+1`));
  }, 60_000);

  it('cancels a running job, and reports bad usage and unknown jobs', async () => {
    const submit = await plexus(['job', 'submit', '--target', node.grpc, '--model', 'speech.vad', '--input', path.join(FIXTURES, 'speech-22k-mono.wav'), '--json']);
    const { jobId } = JSON.parse(submit.stdout) as { jobId: string };
    const cancel = await plexus(['job', 'cancel', '--target', node.grpc, jobId]);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toMatch(new RegExp(`${jobId}\\s+(CANCELLED|COMPLETED)`));
    const unknown = await plexus(['job', 'get', '--target', node.grpc, 'job-0000']);
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.stderr).toMatch(/NOT_FOUND: .*job-0000/);
    const usage = await plexus(['job', 'submit', '--target', node.grpc, '--model', 'speech.vad']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--input is required/);
  }, 60_000);
});
