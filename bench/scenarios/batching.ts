// Scenario 3: dynamic batching. The tiny batchable MLP (built at run time, bench/models/mlp.ts)
// in the local inference engine, in-process, at concurrency 1..64 with batching off and on,
// beside the in-process ORT one-at-a-time loop on the same model (the target's baseline).
import { readdirSync, readFileSync } from 'node:fs';
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

const INFERENCE_DIR = fileURLToPath(new URL('../../src/inference/', import.meta.url));

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

export const batchingScenario: Scenario = {
  name: 'batching',
  title: '3. Batching: tiny MLP in the engine, batching off vs on (in-process)',
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
    return { name: 'batching', title: this.title, status: 'ok', durationMs: performance.now() - started, columns: LOAD_COLUMNS, rows, metrics, notes };
  },
};
