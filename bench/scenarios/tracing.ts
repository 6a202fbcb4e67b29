// Scenario: what tracing costs on the query path. Two local daemons on raw silero-vad, one with
// tracing off (the default), one exporting every span over OTLP/HTTP to a sink in this process;
// measured one after the other at each concurrency, side by side in one run. The sink only
// counts the spans that arrive.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { closedLoop, type LoadResult } from '../load.ts';
import { createKServeClient, sileroInferRequest } from '../kserve-client.ts';
import { SILERO_MODEL } from '../models/silero.ts';
import { cpuSeconds, requireProjectFiles, spawnDaemon, stopAll, type DaemonProc } from '../procs.ts';
import { loadRow, LOAD_COLUMNS } from '../rows.ts';
import { round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';
import { sileroSpec } from './plexus.ts';

const CONCURRENCY = [1, 8] as const;
const SPAN_ID = Buffer.from('"spanId"');

interface Sink { readonly url: string; spans: number; close(): Promise<void> }

/** An OTLP/HTTP endpoint that answers 200 and counts spans (occurrences of "spanId"), nothing more. */
async function startSink(): Promise<Sink> {
  const sink = { url: '', spans: 0, close: (): Promise<void> => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(SPAN_ID); i >= 0; i = chunk.indexOf(SPAN_ID, i + SPAN_ID.length)) sink.spans++;
    });
    req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }).end('{}'); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); });
  return sink;
}

async function measure(node: DaemonProc, c: number, ctx: ScenarioContext): Promise<{ load: LoadResult; cpuPct: number | null }> {
  const client = createKServeClient(node.grpc);
  const request = sileroInferRequest(SILERO_MODEL);
  try {
    const cpu0 = cpuSeconds(node.pid);
    const t0 = performance.now();
    const load = await closedLoop(async () => { await client.infer(request); }, { concurrency: c, durationMs: ctx.quick ? 2000 : 10_000, warmupMs: ctx.quick ? 400 : 2000 });
    const cpu1 = cpuSeconds(node.pid);
    const wallS = (performance.now() - t0) / 1000;
    return { load, cpuPct: cpu0 === null || cpu1 === null ? null : round((100 * (cpu1 - cpu0)) / wallS) };
  } finally {
    client.close();
  }
}

const PROBE_QUERIES = 20;

/** Spans the sink receives per query: a few queries one at a time, then the batch processor's next export. */
async function spansPerQuery(node: DaemonProc, sink: Sink): Promise<number> {
  await new Promise((r) => setTimeout(r, 1500));
  const client = createKServeClient(node.grpc);
  try {
    const before = sink.spans;
    for (let i = 0; i < PROBE_QUERIES; i++) await client.infer(sileroInferRequest(SILERO_MODEL));
    await new Promise((r) => setTimeout(r, 2500));
    return (sink.spans - before) / PROBE_QUERIES;
  } finally {
    client.close();
  }
}

export const tracingScenario: Scenario = {
  name: 'tracing',
  title: 'Tracing off vs on (local daemon, gRPC ModelInfer on silero-vad; on = every span exported over OTLP/HTTP)',
  async run(ctx): Promise<ScenarioResult> {
    requireProjectFiles(['src/node/tracing/node-tracing.ts']);
    const started = performance.now();
    const rows: ResultRow[] = [];
    const metrics: Record<string, number | null> = {};
    const notes: string[] = ['Off and on run one after the other at each concurrency, same machine, same model; cpu% is the daemon\'s.'];
    const sink = await startSink();
    const nodes: DaemonProc[] = [];
    try {
      const off = await spawnDaemon({ models: [sileroSpec()] });
      nodes.push(off);
      const on = await spawnDaemon({ models: [sileroSpec()], node: { tracing: { otlpEndpoint: sink.url } } });
      nodes.push(on);
      // Two rounds of off/on at each concurrency: on a shared machine one window can be slowed
      // by a neighbour, and alternating shows how much of a difference is noise.
      for (const c of CONCURRENCY) {
        for (const round of [1, 2]) {
          for (const [mode, node] of [['off', off], ['on', on]] as const) {
            ctx.log(`tracing ${mode}, c=${c}, round ${round}`);
            const m = await measure(node, c, ctx);
            rows.push(loadRow(`tracing ${mode} c=${c} (${round})`, m.load, { cpuPct: m.cpuPct }));
            const key = `tracing${mode === 'on' ? 'On' : 'Off'}C${c}R${round}`;
            metrics[`${key}P50Ms`] = m.load.latency.p50;
            metrics[`${key}P99Ms`] = m.load.latency.p99;
            metrics[`${key}Qps`] = m.load.qps;
            if (m.load.errors > 0) notes.push(`tracing ${mode} c=${c}: ${m.load.errors} errors, first: ${m.load.firstError ?? '?'}`);
          }
        }
      }
      metrics['tracingSpansPerQuery'] = await spansPerQuery(on, sink);
      notes.push(`With tracing on, each local query exported ${metrics['tracingSpansPerQuery']} spans (${PROBE_QUERIES} queries one at a time, counted at the sink).`);
    } finally {
      await stopAll(nodes);
      await sink.close();
    }
    return { name: 'tracing', title: this.title, status: 'ok', durationMs: performance.now() - started, columns: [...LOAD_COLUMNS, 'cpuPct'], rows, metrics, notes };
  },
};
