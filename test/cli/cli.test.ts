// The plexus CLI as a user runs it: bin/plexus subprocesses against a real daemon subprocess.
// Daemons are few (each start loads ONNX and libp2p): one with a config for most checks, then
// a restart on the same data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServices } from '../../src/wire/protos.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SPEECH_WAV = path.join(ROOT, 'test/fixtures/speech-22k-mono.wav');
const SPEECH_TRUTH = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/speech.json'), 'utf8')) as { speech: [number, number][] };
const SLOW_DELAY_MS = 4000;
/** A probe still waiting after this long is queued behind the slow query (generous: 2 loaded cores). */
const PROBE_DEADLINE_MS = 2000;

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function plexus(args: readonly string[]): ChildProcess {
  return spawn('bash', ['bin/plexus', ...args], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Collects a child's output until it exits (bounded: killed past timeoutMs). */
function finished(child: ChildProcess, timeoutMs = 30_000): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

async function run(args: readonly string[], timeoutMs?: number): Promise<Run> {
  return finished(plexus(args), timeoutMs);
}

interface Ready { peerId: string; grpc: string; multiaddrs: string[]; models: { name: string; version: string; capabilities: string[]; ready: boolean }[] }

interface Daemon {
  readonly child: ChildProcess;
  readonly ready: Ready;
  /** Everything the process printed, once it exits. */
  readonly exited: Promise<Run>;
}

/** Starts `plexus node start --json ...` and resolves with its ready line. */
async function startDaemon(dataDir: string, extra: readonly string[] = []): Promise<Daemon> {
  const child = plexus(['node', 'start', '--json', '--grpc', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', dataDir, ...extra]);
  const exited = finished(child, 120_000);
  const ready = await new Promise<Ready>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('daemon printed no ready line within 30 s')), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buffered.slice(0, nl)) as Ready);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    exited.then((r) => reject(new Error(`daemon exited (${r.code ?? r.signal}) before it was ready: ${r.stderr}`)), reject);
  });
  return { child, ready, exited };
}

const tmp = mkdtempSync(path.join(tmpdir(), 'plexus-cli-test-'));
const dataDir = path.join(tmp, 'data');
const configPath = path.join(tmp, 'plexus.yaml');
const running: ChildProcess[] = [];

// The defaults, plus a slow adapter on its own raw model: one run slot, one queue place.
writeFileSync(configPath, `
models:
  - name: silero-vad
    path: builtin:silero-vad
    capabilities: [speech.vad.raw]
  - name: silero-vad-segments
    adapter: { type: silero-vad, model: silero-vad }
    capabilities: [speech.vad]
  - name: slow-vad
    path: builtin:silero-vad
    maxConcurrent: 1
    maxQueue: 1
  - name: slow-segments
    adapter: { type: silero-vad, model: slow-vad }
    capabilities: [speech.vad.slow]
    fault: { delayMs: ${SLOW_DELAY_MS} }
`);

let daemon: Daemon;
beforeAll(async () => {
  daemon = await startDaemon(dataDir, ['--config', configPath]);
  running.push(daemon.child);
});
afterAll(() => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

describe('plexus node start --json', () => {
  it('prints one JSON line with the peer id, gRPC address, multiaddrs and models', () => {
    const { peerId, grpc: address, multiaddrs, models } = daemon.ready;
    expect(peerId).toMatch(/^12D3KooW[1-9A-HJ-NP-Za-km-z]+$/);
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(address).not.toBe('127.0.0.1:0');
    expect(multiaddrs.length).toBeGreaterThan(0);
    for (const m of multiaddrs) expect(m).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/[1-9]\\d*/p2p/${peerId}$`));
    expect(models).toEqual([
      { name: 'silero-vad', version: '1', capabilities: ['speech.vad.raw'], ready: true },
      { name: 'silero-vad-segments', version: '1', capabilities: ['speech.vad'], ready: true },
      { name: 'slow-vad', version: '1', capabilities: [], ready: true },
      { name: 'slow-segments', version: '1', capabilities: ['speech.vad.slow'], ready: true },
    ]);
  });
});

describe('plexus query', () => {
  it('--json prints the speech segments of the fixture', async () => {
    const r = await run(['query', '--target', daemon.ready.grpc, '--model', 'speech.vad', '--input', SPEECH_WAV, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0] ?? '') as { model: string; segments: { start: number; end: number }[] };
    expect(out.model).toBe('silero-vad-segments');
    expect(out.segments).toHaveLength(SPEECH_TRUTH.speech.length);
    out.segments.forEach(({ start, end }, i) => {
      const [s, e] = SPEECH_TRUTH.speech[i] ?? [NaN, NaN];
      expect(Math.abs(start - s)).toBeLessThan(0.25);
      expect(Math.abs(end - e)).toBeLessThan(0.25);
    });
  });

  it('--verify has the node cross-check the answer and prints who served and who verified it', async () => {
    const r = await run(['query', '--target', daemon.ready.grpc, '--model', 'speech.vad', '--input', SPEECH_WAV, '--verify']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // One node: it served the query and, asked to verify, vouches for its own run.
    const me = `…${daemon.ready.peerId.slice(-8)}`;
    expect(r.stdout).toContain(`served by ${me} (the node asked), cost `);
    expect(r.stdout).toContain(`, verified by ${me}\n`);
    const plain = await run(['query', '--target', daemon.ready.grpc, '--model', 'speech.vad', '--input', SPEECH_WAV]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(`served by ${me}`);
    expect(plain.stdout).not.toContain('verified by');
  });

  it('fails with the status and message for an unknown model', async () => {
    const r = await run(['query', '--target', daemon.ready.grpc, '--model', 'speech.nothing', '--input', SPEECH_WAV]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/NOT_FOUND: .*'speech\.nothing'/);
  });
});

describe('plexus node info', () => {
  it('shows the peer id, address and hosted models', async () => {
    const r = await run(['node', 'info', '--target', daemon.ready.grpc]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`peer id:  ${daemon.ready.peerId}`);
    expect(r.stdout).toContain(`grpc:     ${daemon.ready.grpc}`);
    expect(r.stdout).toMatch(/silero-vad-segments v1 +plexus_adapter +cpu +price 0 +ready \[speech\.vad\]/);
    expect(r.stdout).toMatch(/slow-segments v1 .*ready \[speech\.vad\.slow\]/);
    expect(r.stdout).toMatch(/^ {2}silero-vad v1 +onnxruntime_onnx/m);
  });
});

describe('a bad config file', () => {
  it('exits non-zero naming the field, before loading or binding anything', async () => {
    const bad = path.join(tmp, 'bad.yaml');
    writeFileSync(bad, 'models:\n  - name: silero-vad\n    path: builtin:silero-vad\n    maxQueue: -1\n');
    const r = await run(['node', 'start', '--config', bad, '--grpc', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0',
      '--data-dir', path.join(tmp, 'bad-data'), '--log-level', 'info']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('models[0].maxQueue');
    // Nothing was logged: no model loaded, no listener opened.
    expect(r.stderr).not.toMatch(/listening|loaded model/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names an unknown field in the node section', async () => {
    const bad = path.join(tmp, 'bad-node.yaml');
    writeFileSync(bad, 'node:\n  grpcc: 127.0.0.1:0\n');
    const r = await run(['node', 'start', '--config', bad, '--data-dir', path.join(tmp, 'bad-data')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/node: unknown field "grpcc"/);
  });
});

/** Polls until `cond` resolves true; fails past the deadline. */
async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
  }
}

/**
 * True when slow-vad's only run slot is taken: a fast probe on that raw model then waits in
 * the queue until its deadline passes. While the slot is free the probe just runs (in about a
 * millisecond; the client is connected beforehand so no handshake counts against the deadline).
 */
function slowSlotBusy(client: grpc.Client): Promise<boolean> {
  const request = {
    model_name: 'slow-vad',
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [1, 512], contents: { fp32_contents: new Array<number>(512).fill(0) } },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], contents: { fp32_contents: new Array<number>(256).fill(0) } },
      { name: 'sr', datatype: 'INT64', shape: [], contents: { int64_contents: ['16000'] } },
    ],
  };
  const method = (client as unknown as Record<string, (r: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void>).ModelInfer;
  return new Promise((resolve, reject) => {
    method?.call(client, request, new grpc.Metadata(), { deadline: Date.now() + PROBE_DEADLINE_MS }, (e) => {
      if (e === null) resolve(false);
      else if (e.code === grpc.status.DEADLINE_EXCEEDED) resolve(true);
      else reject(e);
    });
  });
}

describe('shutdown and restart', () => {
  it('SIGTERM lets a slow query in flight finish, exits 0; a restart on the same data dir keeps the peer id', async () => {
    const client = new (loadServices().inference)(daemon.ready.grpc, grpc.credentials.createInsecure());
    await new Promise<void>((resolve, reject) => {
      client.waitForReady(Date.now() + 15_000, (e) => (e ? reject(e) : resolve()));
    });
    expect(await slowSlotBusy(client)).toBe(false);
    const query = finished(plexus(['query', '--target', daemon.ready.grpc, '--model', 'speech.vad.slow', '--input', SPEECH_WAV, '--json']));
    try {
      await until('the slow query holds its run slot', () => slowSlotBusy(client));
    } finally {
      client.close();
    }
    daemon.child.kill('SIGTERM');

    const answered = await query;
    expect(answered.stderr).toBe('');
    expect(answered.code).toBe(0);
    const out = JSON.parse(answered.stdout) as { model: string; segments: unknown[] };
    expect(out.model).toBe('slow-segments');
    expect(out.segments).toHaveLength(SPEECH_TRUTH.speech.length);

    const stopped = await daemon.exited;
    expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code: 0, signal: null });
    expect(stopped.stderr).toContain('node stopped');

    // Same identity from the same data dir; this time with the embedded default models.
    const again = await startDaemon(dataDir);
    running.push(again.child);
    expect(again.ready.peerId).toBe(daemon.ready.peerId);
    expect(again.ready.models.map((m) => m.name)).toEqual(['silero-vad', 'silero-vad-segments', 'ppocr-det', 'ppocr-rec', 'ocr-detect', 'ocr-recognize', 'ocr-read']);
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  }, 90_000);
});
