// Raw silero-vad windows batched on their own axes (`batching.axes`: state on axis 1, the sample
// rate shared): ORT in-process with 1, 16 and 64 windows per call (windows/s: what one call on
// many windows saves), then the local inference engine (model worker included) at c=64 with
// the embedded default's SILERO_VAD_BATCHING off and on (requests/s).
import * as ort from 'onnxruntime-node';
import { closedLoop, type LoadResult } from '../load.ts';
import { sileroFeeds, sileroInput, sileroModelPath, SILERO_INPUT_SAMPLES } from '../models/silero.ts';
import { loadRow } from '../rows.ts';
import { round } from '../stats.ts';
import type { ResultRow, ScenarioContext } from '../types.ts';

const WINDOWS_PER_CALL = [1, 16, 64] as const;
const SESSION = { intraOpThreads: 1, interOpThreads: 1 };

function windowOf(ctx: ScenarioContext): { durationMs: number; warmupMs: number } {
  return { durationMs: ctx.quick ? 1500 : 5000, warmupMs: ctx.quick ? 300 : 1000 };
}

async function ortWindows(ctx: ScenarioContext): Promise<Map<number, LoadResult>> {
  const session = await ort.InferenceSession.create(sileroModelPath(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const out = new Map<number, LoadResult>();
  try {
    for (const n of WINDOWS_PER_CALL) {
      const feeds = sileroFeeds(n);
      out.set(n, await closedLoop(async () => { await session.run(feeds); }, { concurrency: 1, ...windowOf(ctx) }));
    }
  } finally {
    await session.release();
  }
  return out;
}

/** Raw one-window requests at c=64 to the engine, its silero-vad batched or not. */
async function engineC64(batched: boolean, ctx: ScenarioContext): Promise<LoadResult> {
  const { BUILTIN_SILERO_VAD, compileModelSpecs, createLocalInference } = await import('../../src/inference/index.ts');
  const { SILERO_VAD_BATCHING } = await import('../../src/inference/config.ts');
  const { silentLogger } = await import('../../src/logger.ts');
  const spec = { name: 'silero-vad', path: BUILTIN_SILERO_VAD, session: SESSION, maxQueue: 1024, ...(batched ? { batching: SILERO_VAD_BATCHING } : {}) };
  const engine = await createLocalInference({ models: compileModelSpecs([spec], process.cwd()), logger: silentLogger() });
  const input = sileroInput();
  let n = 0;
  try {
    return await closedLoop(async () => {
      await engine.infer({
        model: 'silero-vad', id: String(n++), outputs: [], parameters: {}, inputs: [
          { name: 'input', datatype: 'FP32', shape: [1, SILERO_INPUT_SAMPLES], data: input },
          { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Float32Array(256) },
          { name: 'sr', datatype: 'INT64', shape: [], data: BigInt64Array.from([16000n]) },
        ],
      });
    }, { concurrency: 64, ...windowOf(ctx) });
  } finally {
    await engine.close();
  }
}

export async function sileroRawCases(ctx: ScenarioContext, rows: ResultRow[], metrics: Record<string, number | null>, notes: string[]): Promise<void> {
  ctx.log('batching: raw silero-vad, ORT with 1, 16 and 64 windows per call');
  const ortRuns = await ortWindows(ctx);
  for (const [n, r] of ortRuns) {
    rows.push(loadRow(`ORT in-process silero-vad, ${n} window${n === 1 ? '' : 's'} per call (windows/s)`, { ...r, qps: r.qps * n }));
    metrics[`sileroOrtWindowsPerS${n}`] = r.qps * n;
  }
  const one = ortRuns.get(1)?.qps;
  const many = WINDOWS_PER_CALL.filter((n) => n > 1).map((n) => `${n}: ${one ? round((ortRuns.get(n)?.qps ?? 0) * n / one) : '–'}×`);
  notes.push(`raw silero-vad, ORT in-process: windows/s with many windows per call over one per call: ${many.join(', ')}.`);
  ctx.log('batching: raw silero-vad in the engine at c=64, batching off and on');
  const off = await engineC64(false, ctx);
  const on = await engineC64(true, ctx);
  rows.push(loadRow('engine, raw silero-vad, batching off, c=64', off));
  rows.push(loadRow('engine, raw silero-vad, batching on (SILERO_VAD_BATCHING), c=64', on));
  metrics['sileroEngineOffC64Qps'] = off.qps;
  metrics['sileroEngineOnC64Qps'] = on.qps;
  notes.push(`raw silero-vad in the engine at c=64 (one window a request): batching on ${off.qps > 0 ? round(on.qps / off.qps) : '–'}× the requests/s of batching off.`);
}
