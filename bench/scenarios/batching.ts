// Scenario 3: dynamic batching. The tiny batchable MLP (built at run time, bench/models/mlp.ts)
// in the local inference engine, in-process, at concurrency 1..64 with batching off and on,
// beside the in-process ORT one-at-a-time loop on the same model (the target's baseline). Then
// speech.vad (Silero VAD v5 segments over a 0.5 s, 16 kHz speech clip) with step batching off and
// on, and raw silero-vad windows batched on their own axes (batching-silero.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { closedLoop, type LoadResult } from '../load.ts';
import { DEFAULT_MLP, writeMlpModel } from '../models/mlp.ts';
import { requireProjectFiles } from '../procs.ts';
import { loadRow, LOAD_COLUMNS } from '../rows.ts';
import { round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';
import { sileroRawCases } from './batching-silero.ts';

const INFERENCE_DIR = fileURLToPath(new URL('../../src/inference/', import.meta.url));
const VAD_STEP_GROUP = fileURLToPath(new URL('../../src/inference/adapters/vad-step-group.ts', import.meta.url));
const SPEECH_WAV = fileURLToPath(new URL('../../test/fixtures/speech-22k-mono.wav', import.meta.url));
/** Step batching settings measured for speech.vad: those of the embedded default config. */
const VAD_BATCHING = { maxBatchSize: 64, maxQueueDelayUs: 0 };

/** The engine batches when some source besides the config schema reads `maxBatchSize`. */
function engineBatchingSource(): string | undefined {
  for (const f of readdirSync(INFERENCE_DIR)) {
    if (!f.endsWith('.ts') || f === 'config.ts' || f === 'index.ts') continue;
    if (readFileSync(`${INFERENCE_DIR}${f}`, 'utf8').includes('maxBatchSize')) return f;
  }
  return undefined;
}

async function engineLoad(modelPath: string, batching: boolean, levels: readonly number[], ctx: ScenarioContext): Promise<LoadResult[]> {
  const { compileModelSpecs, createLocalInference } = await import('../../src/inference/index.ts');
  const { silentLogger } = await import('../../src/logger.ts');
  const spec = {
    name: 'bench-mlp', path: modelPath, session: { intraOpThreads: 1, interOpThreads: 1 },
    maxQueue: 4096, ...(batching ? { batching: { maxBatchSize: 64, maxQueueDelayUs: 500 } } : {}),
  };
  const engine = await createLocalInference({ models: compileModelSpecs([spec], dirname(modelPath)), logger: silentLogger() });
  const x = new Float32Array(DEFAULT_MLP.inputs).fill(0.25);
  const out: LoadResult[] = [];
  try {
    for (const c of levels) {
      let n = 0;
      out.push(await closedLoop(async () => {
        await engine.infer({ model: 'bench-mlp', id: String(n++), inputs: [{ name: 'x', datatype: 'FP32', shape: [1, DEFAULT_MLP.inputs], data: x }], outputs: [], parameters: {} });
      }, { concurrency: c, durationMs: ctx.quick ? 1500 : 5000, warmupMs: ctx.quick ? 300 : 1000 }));
    }
  } finally {
    await engine.close();
  }
  return out;
}

const CLIP = { startS: 0.8, seconds: 0.5 }; // speech begins at 1.0 s in the fixture

/**
 * Half a second of the speech fixture as a 16 kHz 16-bit mono WAV: short, so c=64 without batching
 * still completes calls within the window, and already at the model's rate, so the bench
 * measures stepping rather than the resampler.
 */
async function speechClip(): Promise<Uint8Array> {
  const { decodeWavMono } = await import('../../src/inference/index.ts');
  const audio = decodeWavMono(readFileSync(SPEECH_WAV), 16_000);
  const samples = audio.subarray(Math.round(CLIP.startS * 16_000), Math.round((CLIP.startS + CLIP.seconds) * 16_000));
  const out = new Uint8Array(44 + samples.length * 2);
  const v = new DataView(out.buffer);
  const ascii = (at: number, text: string): void => { for (let i = 0; i < text.length; i++) v.setUint8(at + i, text.charCodeAt(i)); };
  ascii(0, 'RIFF'); v.setUint32(4, 36 + samples.length * 2, true); ascii(8, 'WAVE');
  ascii(12, 'fmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, 16_000, true); v.setUint32(28, 32_000, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
  ascii(36, 'data'); v.setUint32(40, samples.length * 2, true);
  samples.forEach((x, i) => v.setInt16(44 + 2 * i, Math.round(Math.max(-1, Math.min(1, x)) * 32767), true));
  return out;
}

/** speech.vad on the raw Silero model, step batching off or on, one WAV per request. */
async function vadLoad(batching: boolean, levels: readonly number[], ctx: ScenarioContext): Promise<LoadResult[]> {
  const { BUILTIN_SILERO_VAD, compileModelSpecs, createLocalInference } = await import('../../src/inference/index.ts');
  const { silentLogger } = await import('../../src/logger.ts');
  const models = compileModelSpecs([
    { name: 'silero-vad', path: BUILTIN_SILERO_VAD, session: { intraOpThreads: 1, interOpThreads: 1 } },
    { name: 'vad', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'], ...(batching ? { batching: VAD_BATCHING } : {}) },
  ], process.cwd());
  const engine = await createLocalInference({ models, logger: silentLogger() });
  const wav = await speechClip();
  const out: LoadResult[] = [];
  try {
    for (const c of levels) {
      let n = 0;
      out.push(await closedLoop(async () => {
        await engine.infer({ model: 'speech.vad', id: String(n++), inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [wav] }], outputs: [], parameters: {} });
      }, { concurrency: c, durationMs: ctx.quick ? 2500 : 8000, warmupMs: ctx.quick ? 700 : 2000 }));
    }
  } finally {
    await engine.close();
  }
  return out;
}

async function vadCases(ctx: ScenarioContext, levels: readonly number[], rows: ResultRow[], metrics: Record<string, number | null>, notes: string[]): Promise<void> {
  ctx.log('batching: speech.vad, step batching off');
  const off = await vadLoad(false, levels, ctx);
  for (const r of off) {
    rows.push(loadRow(`speech.vad, step batching off, c=${r.concurrency}`, r));
    metrics[`vadOffC${r.concurrency}Qps`] = r.qps;
  }
  if (!existsSync(VAD_STEP_GROUP)) {
    notes.push('speech.vad step batching on: skipped: src/inference/adapters/vad-step-group.ts does not exist yet.');
    return;
  }
  ctx.log('batching: speech.vad, step batching on');
  const on = await vadLoad(true, levels, ctx);
  const ratios: string[] = [];
  for (const r of on) {
    const base = off.find((o) => o.concurrency === r.concurrency);
    // No ratio when the off case completed nothing within its window (it says so in its row).
    const ratio = base !== undefined && base.qps > 0 ? r.qps / base.qps : null;
    rows.push(loadRow(`speech.vad, step batching on (max ${VAD_BATCHING.maxBatchSize}, ${VAD_BATCHING.maxQueueDelayUs} µs), c=${r.concurrency}`, r));
    metrics[`vadOnC${r.concurrency}Qps`] = r.qps;
    metrics[`vadOnOffRatioC${r.concurrency}`] = ratio === null ? null : round(ratio);
    if (ratio !== null) ratios.push(`c=${r.concurrency} ${round(ratio)}×`);
  }
  notes.push(`speech.vad (${CLIP.seconds} s of 16 kHz speech per request, ${Math.ceil(CLIP.seconds * 16_000 / 512)} windows): step batching on vs off, requests/s: ${ratios.join(', ')}.`);
}

export const batchingScenario: Scenario = {
  name: 'batching',
  title: '3. Batching: tiny MLP and speech.vad in the engine, batching off vs on (in-process)',
  async run(ctx): Promise<ScenarioResult> {
    requireProjectFiles(['src/inference/index.ts']);
    const started = performance.now();
    const modelPath = writeMlpModel();
    const levels = ctx.quick ? [1, 8, 64] : [1, 2, 4, 8, 16, 32, 64];
    const rows: ResultRow[] = [];
    const metrics: Record<string, number | null> = {};
    const notes: string[] = [
      `bench-mlp: x[N,${DEFAULT_MLP.inputs}] → MatMul+Add → Relu → MatMul+Add → y[N,${DEFAULT_MLP.outputs}], hidden ${DEFAULT_MLP.hidden}, dynamic batch dim, seeded weights.`,
      'All cases run in this process (no gRPC), so the ratio isolates batching from transport.',
    ];

    ctx.log('batching: ORT one-at-a-time loop');
    const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const x1 = new ort.Tensor('float32', new Float32Array(DEFAULT_MLP.inputs).fill(0.25), [1, DEFAULT_MLP.inputs]);
    const window = { concurrency: 1, durationMs: ctx.quick ? 1500 : 5000, warmupMs: ctx.quick ? 300 : 1000 };
    const loop = await closedLoop(async () => { await session.run({ x: x1 }); }, window);
    const x64 = new ort.Tensor('float32', new Float32Array(64 * DEFAULT_MLP.inputs).fill(0.25), [64, DEFAULT_MLP.inputs]);
    const batch64 = await closedLoop(async () => { await session.run({ x: x64 }); }, window);
    await session.release();
    rows.push(loadRow('ORT in-process loop, batch=1', loop));
    rows.push(loadRow('ORT in-process loop, batch=64 (ceiling, rows/s)', { ...batch64, qps: batch64.qps * 64 }));
    metrics['ortLoopQps'] = loop.qps;
    metrics['ortBatch64RowsPerS'] = batch64.qps * 64;

    ctx.log('batching: engine, batching off');
    const off = await engineLoad(modelPath, false, levels, ctx);
    for (const r of off) {
      rows.push(loadRow(`engine, batching off, c=${r.concurrency}`, r));
      metrics[`batchOffC${r.concurrency}Qps`] = r.qps;
    }
    const source = engineBatchingSource();
    if (source === undefined) {
      notes.push('batching on: skipped: the inference engine does not implement dynamic batching yet (no source in src/inference reads `batching.maxBatchSize`).');
    } else {
      ctx.log('batching: engine, batching on');
      const on = await engineLoad(modelPath, true, levels, ctx);
      for (const r of on) {
        rows.push(loadRow(`engine, batching on (max 64, 500 µs), c=${r.concurrency}`, r));
        metrics[`batchOnC${r.concurrency}Qps`] = r.qps;
      }
      const c64 = on.find((r) => r.concurrency === 64);
      if (c64 !== undefined) notes.push(`batching on, c=64: ${round(c64.qps / loop.qps)}× the one-at-a-time loop.`);
    }
    await vadCases(ctx, levels, rows, metrics, notes);
    await sileroRawCases(ctx, rows, metrics, notes);
    return { name: 'batching', title: this.title, status: 'ok', durationMs: performance.now() - started, columns: LOAD_COLUMNS, rows, metrics, notes };
  },
};
