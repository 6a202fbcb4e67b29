// `npm run bench [-- --quick] [-- --only a,b]`: runs every scenario in one process, one after
// another on the same machine and model, then writes bench/results/{<timestamp>[-<the --only list>].json,
// latest.json, latest.md, latest.svg} and prints the targets with PASS/MISS. Opt-in scenarios
// (the soak) run only when --only names them.
import { parseArgs } from 'node:util';
import { cpus, totalmem, availableParallelism, platform, arch } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { ScenarioSkipped, type BenchReport, type MachineInfo, type Scenario, type ScenarioResult } from './types.ts';
import { evaluateTargets } from './targets.ts';
import { writeReport, scenarioMarkdown } from './report.ts';
import { SILERO_MODEL } from './models/silero.ts';
import { SCENARIOS } from './scenarios/index.ts';

function machineInfo(): MachineInfo {
  const require = createRequire(import.meta.url);
  const ortPkg = require('onnxruntime-node/package.json') as { version: string };
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.versions.node,
    platform: platform(),
    arch: arch(),
    onnxruntime: ortPkg.version,
  };
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function runOne(s: Scenario, quick: boolean, earlier: ReadonlyMap<string, ScenarioResult>): Promise<ScenarioResult> {
  const started = performance.now();
  const base = { name: s.name, title: s.title, columns: [], rows: [], metrics: {}, notes: [] };
  try {
    return await s.run({ quick, log, earlier });
  } catch (e) {
    const durationMs = performance.now() - started;
    if (e instanceof ScenarioSkipped) return { ...base, status: 'skipped', reason: e.message, durationMs };
    const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    log(`${s.name} failed: ${reason}`);
    return { ...base, status: 'error', reason, durationMs };
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const names = SCENARIOS.map((s) => s.name);
  if (values.help === true) {
    process.stdout.write(`usage: npm run bench -- [--quick] [--only ${names.join(',')}] [--out dir]\n`);
    return;
  }
  const only = values.only !== undefined ? values.only.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : null;
  if (only !== null) {
    const unknown = only.filter((n) => !names.includes(n));
    if (unknown.length > 0) throw new Error(`--only: unknown scenario(s) ${unknown.join(', ')}; expected some of ${names.join(', ')}`);
  }
  const quick = values.quick === true;
  const outDir = values.out ?? join(dirname(fileURLToPath(import.meta.url)), 'results');
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}; ${quick ? 'quick' : 'full'} run`);

  const results = new Map<string, ScenarioResult>();
  for (const s of SCENARIOS) {
    if (only !== null ? !only.includes(s.name) : s.optIn === true) continue;
    log(`== ${s.title}`);
    const r = await runOne(s, quick, results);
    results.set(s.name, r);
    log(`${s.name}: ${r.status}${r.reason !== undefined ? ` (${r.reason})` : ''} in ${(r.durationMs / 1000).toFixed(1)} s`);
  }

  const targets = evaluateTargets(results);
  const report: BenchReport = {
    startedAt, finishedAt: new Date().toISOString(), quick, only, machine, model: SILERO_MODEL,
    scenarios: [...results.values()], targets,
  };
  const files = writeReport(report, outDir);
  for (const s of report.scenarios) process.stdout.write(`${scenarioMarkdown(s)}\n`);
  process.stdout.write('Targets:\n');
  for (const t of targets) process.stdout.write(`  ${t.pass === null ? 'N/A ' : t.pass ? 'PASS' : 'MISS'}  ${t.description}: ${t.detail}\n`);
  process.stdout.write(`\nwrote ${files.join(', ')}\n`);
}

main().then(
  // Daemons, libp2p and ORT may leave handles open; the run is over, so exit explicitly.
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
