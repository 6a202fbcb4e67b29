// What the embedded default's OCR entries cost a node: daemons started as users start them
// (bin/plexus, a config file without `models:` = the embedded default: speech.vad and OCR)
// against the same with only the speech entries (`vadModelEntries()`, what `--only speech.vad`
// hosts), started alternately: wall time to the ready line, the process's CPU time by then
// (every thread: ORT sessions load on the model worker), and resident memory 1 s later.
import { performance } from 'node:perf_hooks';
import { vadModelEntries } from '../../src/inference/config.ts';
import { cpuSeconds, requireProjectFiles, rssMb, spawnDaemon, type ChildSpec } from '../procs.ts';
import { round, summarize } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioResult } from '../types.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sample { readonly readyMs: number; readonly cpuS: number | null; readonly rssMb: number | null; readonly models: number }

async function startOnce(spec: ChildSpec): Promise<Sample> {
  const t0 = performance.now();
  const d = await spawnDaemon(spec);
  try {
    const readyMs = performance.now() - t0;
    const cpuS = cpuSeconds(d.pid);
    await sleep(1000);
    return { readyMs, cpuS, rssMb: rssMb(d.pid), models: d.models.length };
  } finally {
    await d.stop();
  }
}

function row(label: string, samples: readonly Sample[]): ResultRow {
  const p50 = (xs: (number | null)[]): number | null => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length === 0 ? null : round(summarize(v).p50);
  };
  return {
    label,
    values: {
      models: samples[0]?.models ?? null, starts: samples.length,
      readyMsP50: p50(samples.map((s) => s.readyMs)), cpuSecondsP50: p50(samples.map((s) => s.cpuS)), rssMbP50: p50(samples.map((s) => s.rssMb)),
    },
  };
}

export const defaultModelsScenario: Scenario = {
  name: 'default-models',
  title: '6c. The embedded default with OCR vs speech.vad only: start time, CPU, memory',
  async run(ctx): Promise<ScenarioResult> {
    requireProjectFiles(['src/inference/adapters/ocr/ocr-config.ts', 'src/node/host-only.ts']);
    const started = performance.now();
    const n = ctx.quick ? 3 : 5;
    const specs: Record<'default' | 'vad', ChildSpec> = { default: { node: {} }, vad: { node: {}, models: vadModelEntries() } };
    const samples: Record<'default' | 'vad', Sample[]> = { default: [], vad: [] };
    for (let i = 0; i < n; i++) {
      for (const k of ['vad', 'default'] as const) {
        ctx.log(`default-models: ${k} start ${i + 1}/${n}`);
        samples[k].push(await startOnce(specs[k]));
      }
    }
    const rows = [row('embedded default (speech.vad + OCR)', samples.default), row('speech.vad entries only', samples.vad)];
    const metric = (r: ResultRow | undefined, key: string): number | null => (typeof r?.values[key] === 'number' ? r.values[key] : null);
    const diff = (key: string): number | null => {
      const a = metric(rows[0], key);
      const b = metric(rows[1], key);
      return a === null || b === null ? null : round(a - b);
    };
    return {
      name: 'default-models', title: this.title, status: 'ok', durationMs: performance.now() - started,
      columns: ['models', 'starts', 'readyMsP50', 'cpuSecondsP50', 'rssMbP50'],
      rows,
      metrics: { ocrExtraReadyMs: diff('readyMsP50'), ocrExtraCpuSeconds: diff('cpuSecondsP50'), ocrExtraRssMb: diff('rssMbP50') },
      notes: [
        'Each start: bin/plexus node start --json with a config file (no models: = the embedded default), alternating the two kinds; readyMs from spawn to the ready line.',
        'cpuSeconds: user+system time of the whole process (all threads) at the ready line; rssMb: VmRSS 1 s after it.',
      ],
    };
  },
};
