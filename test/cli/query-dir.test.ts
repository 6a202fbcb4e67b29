// `plexus query --input DIR` as a user runs it (bash bin/plexus, a separate process) against a
// real in-process routing node: every file sent, a garbage file counted as an INVALID_ARGUMENT
// failure (exit 1), summary with counts, p50/p99 and the serving peer; plain progress counts
// on stderr when it is not a terminal.
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, startClusterNode, tempDir, type ClusterNode } from '../cluster/helpers.ts';
import { FIXTURES } from '../node/grpc/helpers.ts';
import { plexus } from './run-plexus.ts';


let node: ClusterNode;
let mixedDir: string;
let goodDir: string;
const GOOD = ['a-speech.wav', 'b-speech-8k.wav', 'c-silence.wav', 'd-speech.wav', 'e-speech.wav'];

beforeAll(async () => {
  node = await startClusterNode({
    models: [
      { name: 'silero-vad', path: 'builtin:silero-vad', capabilities: ['speech.vad.raw'], session: { intraOpThreads: 1, interOpThreads: 1 } },
      { name: 'silero-vad-segments', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'] },
    ],
  });
  const sources = ['speech-22k-mono.wav', 'speech-8k-mono.wav', 'silence-16k.wav', 'speech-22k-mono.wav', 'speech-22k-mono.wav'];
  mixedDir = tempDir('plexus-query-dir-');
  goodDir = tempDir('plexus-query-dir-');
  GOOD.forEach((name, i) => {
    const src = path.join(FIXTURES, sources[i] ?? '');
    copyFileSync(src, path.join(mixedDir, name));
    copyFileSync(src, path.join(goodDir, name));
  });
  writeFileSync(path.join(mixedDir, 'f-garbage.wav'), 'not a wav file at all');
  writeFileSync(path.join(mixedDir, '.hidden'), 'skipped: dotfiles are not sent');
});

afterAll(async () => {
  await node.close();
  removeTempDirs();
});

describe('plexus query --input DIR', () => {
  it('--json: one line per file, a summary line; the garbage file is an INVALID_ARGUMENT failure and the exit status is 1', async () => {
    const r = await plexus(['query', '--target', node.grpc, '--model', 'speech.vad', '--input', mixedDir, '--json', '--concurrency', '3']);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(GOOD.length + 2);
    const files = lines.slice(0, -1);
    expect(files.map((l) => l['file']).sort()).toEqual([...GOOD, 'f-garbage.wav']);

    const garbage = files.find((l) => l['file'] === 'f-garbage.wav');
    expect(garbage).toMatchObject({ ok: false, status: 'INVALID_ARGUMENT', code: 3 });
    expect(String(garbage?.['message'])).toMatch(/RIFF/);
    for (const l of files.filter((f) => f['file'] !== 'f-garbage.wav')) {
      expect(l).toMatchObject({ ok: true, model: 'silero-vad-segments', servedBy: node.peerId, route: [node.peerId] });
      expect(l['segments']).toHaveLength(l['file'] === 'c-silence.wav' ? 0 : 2);
    }

    const { summary } = lines[lines.length - 1] as { summary: Record<string, unknown> };
    expect(summary).toMatchObject({ count: 6, ok: 5, failed: 1, failures: { INVALID_ARGUMENT: 1 }, peers: { [node.peerId]: 5 } });
    expect(summary['p50Ms']).toBeGreaterThan(0);
    expect(summary['p99Ms']).toBeGreaterThanOrEqual(summary['p50Ms'] as number);

    // stderr is not a terminal here: plain counts, no bar.
    expect(r.stderr).toContain('6/6 done, 1 failed');
    expect(r.stderr).not.toContain('\r');
  }, 60_000);

  it('text: a line per file and the summary table; exit 0 when every file is answered', async () => {
    const r = await plexus(['query', '--target', node.grpc, '--model', 'speech.vad', '--input', goodDir, '--concurrency', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^a-speech\.wav {2}2 speech segment\(s\) {2}[\d.]+ ms {2}served by …/m);
    expect(r.stdout).toMatch(/^c-silence\.wav {2}no speech/m);
    expect(r.stdout).toMatch(/^FILES +OK +FAILED +FAILURES +P50 ms +P99 ms +WALL s +PEERS$/m);
    expect(r.stdout).toMatch(new RegExp(`^5 +5 +0 +- +[\\d.]+ +[\\d.]+ +[\\d.]+ +…${node.peerId.slice(-8)} 5$`, 'm'));
    expect(r.stderr).toContain('5/5 done');
  }, 60_000);

  it('usage errors exit 2: bad --concurrency, --concurrency with a file, a model that takes no file; an unknown model exits 1', async () => {
    // Four independent processes: run them side by side.
    const [bad, onFile, raw, missing] = await Promise.all([
      plexus(['query', '--target', node.grpc, '--model', 'speech.vad', '--input', goodDir, '--concurrency', '0']),
      plexus(['query', '--target', node.grpc, '--model', 'speech.vad', '--input', path.join(goodDir, 'a-speech.wav'), '--concurrency', '2']),
      plexus(['query', '--target', node.grpc, '--model', 'speech.vad.raw', '--input', goodDir]),
      plexus(['query', '--target', node.grpc, '--model', 'no-such-model', '--input', goodDir]),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--concurrency: expected an integer/);
    expect(onFile.code).toBe(2);
    expect(onFile.stderr).toMatch(/only when --input is a directory/);
    expect(raw.code).toBe(2);
    expect(raw.stderr).toMatch(/FP32 input 'input'/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND/);
  }, 60_000);
});
