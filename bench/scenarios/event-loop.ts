// Scenario: the event loop of a node under model load, with models on the main thread
// (`inference.workers: 0`, how every node ran before) and on a worker thread (the default),
// side by side in one run. Each daemon (bin/plexus, the embedded default models) takes
// speech.vad queries (the 22 kHz speech fixture: decode, resample, ~170 VAD steps each), then
// raw silero-vad windows at c=64, then speech.vad beside one 15-minute WAV at 1 kHz; meanwhile
// the bench asks grpc.health.v1 Check every 20 ms. Per load: the daemon's own event-loop delay
// (p99 and max, plexus_event_loop_delay_* on /metrics, one window = the load's duration), the
// health probe's latency (p99, max), and the daemon's CPU. Then two raw sessions in one daemon
// with one worker for both vs one worker each (workers 1 vs 2).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { closedLoop } from '../load.ts';
import { createKServeClient, sileroInferRequest } from '../kserve-client.ts';
import { cpuSeconds, requireProjectFiles, rssMb, spawnDaemon, type DaemonProc } from '../procs.ts';
import { sileroSpec } from './plexus.ts';
import { loadRow, LOAD_COLUMNS } from '../rows.ts';
import { round, summarize } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';

const PROTO_ROOT = fileURLToPath(new URL('../../proto/', import.meta.url));
const SPEECH_WAV = readFileSync(fileURLToPath(new URL('../../test/fixtures/speech-22k-mono.wav', import.meta.url)));
const MODES = [{ label: 'main thread (workers: 0)', workers: 0 }, { label: 'worker thread (workers: 1)', workers: 1 }] as const;

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void;

function healthProbe(address: string): { check(): Promise<void>; close(): void } {
  const def = protoLoader.loadSync('grpc/health/v1/health.proto', { keepCase: true, includeDirs: [PROTO_ROOT] });
  const Ctor = ((grpc.loadPackageDefinition(def)['grpc'] as grpc.GrpcObject)['health'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject;
  const stub = new (Ctor['Health'] as grpc.ServiceClientConstructor)(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Check: Unary };
  return {
    check: () => new Promise((resolve, reject) => {
      stub.Check({ service: '' }, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (e) => (e ? reject(e) : resolve()));
    }),
    close: () => stub.close(),
  };
}

/** A 16-bit mono WAV of a low tone. */
function toneWav(seconds: number, rate: number): Buffer {
  const frames = Math.round(seconds * rate);
  const b = Buffer.alloc(44 + 2 * frames);
  b.write('RIFF', 0); b.writeUInt32LE(36 + 2 * frames, 4); b.write('WAVE', 8); b.write('fmt ', 12);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(2 * rate, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write('data', 36); b.writeUInt32LE(2 * frames, 40);
  for (let i = 0; i < frames; i++) b.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 220 * i) / rate)), 44 + 2 * i);
  return b;
}

const vadRequest = (wav: Uint8Array): unknown => ({
  model_name: 'speech.vad', inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [wav] } }],
});

async function eventLoopDelay(http: string): Promise<{ p99Ms: number | null; maxMs: number | null }> {
  const text = await (await fetch(`http://${http}/metrics`)).text();
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000;
  return { p99Ms: round(read('plexus_event_loop_delay_p99_seconds')), maxMs: round(read('plexus_event_loop_delay_max_seconds')) };
}

/** `request(w)`: the request closed-loop worker w sends. */
/**
 * Generous: the node refuses a query its route estimate says cannot make the deadline, and
 * after a burst (c=64) its advertised queue times the adapter's compute EWMA can read minutes
 * for a few seconds (seen: 128 s). This scenario measures the event loop, not that estimate.
 */
const LOAD_TIMEOUT_MS = 600_000;

/** The first call after a load may still meet that stale estimate: retry for a while. */
async function warm(call: () => Promise<unknown>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await call();
      return;
    } catch (e) {
      if (i >= 20) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

interface Load { readonly name: string; readonly c: number; readonly request: (w: number) => unknown; readonly beside?: unknown }

async function measure(d: DaemonProc, load: Load, ctx: ScenarioContext): Promise<{ loopP99Ms: number | null; row: ResultRow; firstError?: string; beside?: string }> {
  const http = d.http ?? '';
  const client = createKServeClient(d.grpc);
  const probe = healthProbe(d.grpc);
  const durationMs = ctx.quick ? 3000 : 10_000;
  try {
    for (let w = 0; w < Math.min(2, load.c); w++) await warm(() => client.infer(load.request(w), LOAD_TIMEOUT_MS));
    await eventLoopDelay(http); // opens the window
    const cpu0 = cpuSeconds(d.pid);
    const t0 = performance.now();
    let stop = false;
    const probes: number[] = [];
    const probing = (async () => {
      while (!stop) {
        const p0 = performance.now();
        await probe.check();
        probes.push(performance.now() - p0);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    // The long WAV runs beside the load (last load of a daemon: it may run on until the daemon stops).
    let besideOutcome = 'still running at the end of the window';
    if (load.beside !== undefined) {
      client.infer(load.beside, LOAD_TIMEOUT_MS).then(
        () => { besideOutcome = `answered after ${Math.round(performance.now() - t0)} ms`; },
        (e: unknown) => { besideOutcome = `failed after ${Math.round(performance.now() - t0)} ms: ${e instanceof Error ? e.message : String(e)}`; },
      );
    }
    const r = await closedLoop(async (w) => { await client.infer(load.request(w), LOAD_TIMEOUT_MS); }, { concurrency: load.c, durationMs, warmupMs: 0 });
    stop = true;
    await probing;
    const loop = await eventLoopDelay(http);
    const wallS = (performance.now() - t0) / 1000;
    const cpu1 = cpuSeconds(d.pid);
    const h = summarize(probes);
    const extra = {
      loopP99Ms: loop.p99Ms, loopMaxMs: loop.maxMs, healthP99Ms: round(h.p99), healthMaxMs: round(h.max),
      cpuPct: cpu0 === null || cpu1 === null ? null : round((100 * (cpu1 - cpu0)) / wallS),
      rssMb: round(rssMb(d.pid)),
    };
    return {
      loopP99Ms: loop.p99Ms, row: loadRow('', r, extra),
      ...(r.firstError !== undefined ? { firstError: r.firstError } : {}), ...(load.beside !== undefined ? { beside: besideOutcome } : {}),
    };
  } finally {
    probe.close();
    client.close();
  }
}

export const eventLoopScenario: Scenario = {
  name: 'eventloop',
  title: 'Event loop under model load: models on the main thread vs on a worker thread (real daemons)',
  async run(ctx): Promise<ScenarioResult> {
    requireProjectFiles(['src/inference/worker/worker-host.ts', 'src/node/event-loop-metrics.ts']);
    const started = performance.now();
    const speech = vadRequest(SPEECH_WAV);
    const raw = sileroInferRequest('silero-vad');
    const loads: Load[] = [
      { name: 'speech.vad (5.4 s WAV at 22 kHz)', c: 8, request: () => speech },
      { name: 'raw silero-vad window', c: 64, request: () => raw },
      { name: 'speech.vad + one 15-min WAV at 1 kHz', c: 8, request: () => speech, beside: vadRequest(toneWav(900, 1000)) },
    ];
    const rows: ResultRow[] = [];
    const metrics: Record<string, number | null> = {};
    const notes: string[] = [
      'loopP99Ms/loopMaxMs: the daemon\'s own event-loop delay over the window (plexus_event_loop_delay_*_seconds, monitorEventLoopDelay at 20 ms resolution).',
      'healthP99Ms/healthMaxMs: grpc.health.v1 Check from the bench process every 20 ms during the window.',
      'two raw sessions: one worker for both (a pool of 1) vs a worker per session (workers: 2).',
    ];
    for (const mode of MODES) {
      ctx.log(`eventloop: ${mode.label}`);
      const d = await spawnDaemon({ node: { http: '127.0.0.1:0' }, inference: { workers: mode.workers } });
      try {
        for (const [i, load] of loads.entries()) {
          const m = await measure(d, load, ctx);
          rows.push({ label: `${mode.label}: ${load.name}`, values: m.row.values });
          if (m.firstError !== undefined) notes.push(`${mode.label}: ${load.name}: first error: ${m.firstError}`);
          if (m.beside !== undefined) notes.push(`${mode.label}: the 15-min WAV: ${m.beside}`);
          metrics[`loopP99Ms_w${mode.workers}_${i}`] = m.loopP99Ms;
        }
      } finally {
        await d.stop();
      }
    }
    // One pool for all sessions, or a worker per session: two raw models, workers 1 vs 2.
    const two = [sileroInferRequest('vad-a'), sileroInferRequest('vad-b')];
    const pair: Load = { name: 'two raw sessions, c=32 split between them', c: 32, request: (w) => two[w % 2] };
    for (const workers of [1, 2]) {
      ctx.log(`eventloop: two sessions, workers: ${workers}`);
      const models = ['vad-a', 'vad-b'].map((name) => sileroSpec({ name }));
      const d = await spawnDaemon({ node: { http: '127.0.0.1:0' }, inference: { workers }, models });
      try {
        const m = await measure(d, pair, ctx);
        rows.push({ label: `workers: ${workers}: ${pair.name}`, values: m.row.values });
        if (m.firstError !== undefined) notes.push(`workers: ${workers}: first error: ${m.firstError}`);
      } finally {
        await d.stop();
      }
    }
    return {
      name: 'eventloop', title: this.title, status: 'ok', durationMs: performance.now() - started,
      columns: [...LOAD_COLUMNS, 'loopP99Ms', 'loopMaxMs', 'healthP99Ms', 'healthMaxMs', 'cpuPct', 'rssMb'], rows, metrics, notes,
    };
  },
};
