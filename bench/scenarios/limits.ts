// Scenario 1, the limits: what the pieces Plexus is built from cost on their own, measured in
// this same process right before the Plexus scenarios, so the ratios compare like with like.
//  - ONNX Runtime in-process loop on raw Silero VAD (and the tiny batchable MLP), back to back,
//    and Silero again with 1 ms idle before each call (what a daemon sees between queries:
//    caches and the core go cold, and the same run takes longer);
//  - a bare libp2p request/response round trip (TCP+Noise+Yamux, one long-lived stream);
//  - a bare gRPC unary round trip (grpc-js, raw-bytes echo on 127.0.0.1);
//  both transports with the server in this process and in another (echo-child.ts): a Plexus
//  query always crosses processes, which costs a wake-up per side.
// Payloads are the size of a Silero ModelInfer request so transport cost is comparable.
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { closedLoop, type LoadResult } from '../load.ts';
import { grpcEchoCaller, startGrpcEcho } from '../echo-servers.ts';
import { libp2pRoundTrips } from '../floors.ts';
import { writeMlpModel, DEFAULT_MLP } from '../models/mlp.ts';
import { sileroModelPath, sileroFeeds, SILERO_REQUEST_BYTES } from '../models/silero.ts';
import { spawnReady } from '../procs.ts';
import { loadRow, LOAD_COLUMNS } from '../rows.ts';
import { summarize } from '../stats.ts';
import type { Scenario, ScenarioContext, ScenarioResult, ResultRow } from '../types.ts';

const ECHO_CHILD = fileURLToPath(new URL('../echo-child.ts', import.meta.url));
/** Idle time before each call of the "after idle" ORT loop. */
const IDLE_GAP_MS = 1;

/** One caller, one call at a time, for a fixed window after a warm-up. */
function loopWindow(ctx: ScenarioContext): { concurrency: number; durationMs: number; warmupMs: number } {
  return { concurrency: 1, durationMs: ctx.quick ? 1500 : 8000, warmupMs: ctx.quick ? 300 : 1500 };
}

async function ortLoop(ctx: ScenarioContext): Promise<{ silero: LoadResult; sileroIdle: LoadResult; mlp: LoadResult }> {
  const silero = await ort.InferenceSession.create(sileroModelPath(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = sileroFeeds();
  const sileroRes = await closedLoop(async () => { await silero.run(feeds); }, loopWindow(ctx));
  const sileroIdle = await afterIdleLoop(async () => { await silero.run(feeds); }, ctx);
  await silero.release();
  const mlp = await ort.InferenceSession.create(writeMlpModel(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const x = new ort.Tensor('float32', new Float32Array(DEFAULT_MLP.inputs).fill(0.25), [1, DEFAULT_MLP.inputs]);
  const mlpRes = await closedLoop(async () => { await mlp.run({ x }); }, loopWindow(ctx));
  await mlp.release();
  return { silero: sileroRes, sileroIdle, mlp: mlpRes };
}

/** Like closedLoop at c=1, but each call follows IDLE_GAP_MS of idle, which is not timed. */
async function afterIdleLoop(call: () => Promise<void>, ctx: ScenarioContext): Promise<LoadResult> {
  const { durationMs, warmupMs } = loopWindow(ctx);
  const latencies: number[] = [];
  const start = performance.now();
  let busyMs = 0;
  while (performance.now() - start < warmupMs + durationMs) {
    await new Promise((r) => setTimeout(r, IDLE_GAP_MS));
    const t0 = performance.now();
    await call();
    const ms = performance.now() - t0;
    if (t0 - start >= warmupMs) { latencies.push(ms); busyMs += ms; }
  }
  return { concurrency: 1, calls: latencies.length, errors: 0, elapsedMs: busyMs, qps: (1000 * latencies.length) / Math.max(1e-6, busyMs), latency: summarize(latencies) };
}

async function grpcRtt(ctx: ScenarioContext, address?: string): Promise<LoadResult> {
  const server = address === undefined ? await startGrpcEcho() : undefined;
  const caller = grpcEchoCaller(address ?? server?.address ?? '', Buffer.alloc(SILERO_REQUEST_BYTES, 7));
  try {
    return await closedLoop(() => caller.call(), loopWindow(ctx));
  } finally {
    await caller.close();
    await server?.close();
  }
}

function libp2pRtt(ctx: ScenarioContext, addrs?: readonly string[]): Promise<LoadResult> {
  return libp2pRoundTrips(loopWindow(ctx), addrs);
}

export const limitsScenario: Scenario = {
  name: 'limits',
  title: '1. Limits: the building blocks alone',
  async run(ctx): Promise<ScenarioResult> {
    const started = performance.now();
    ctx.log('limits: ONNX Runtime in-process loops');
    const { silero, sileroIdle, mlp } = await ortLoop(ctx);
    ctx.log('limits: bare gRPC and libp2p round trips, in this process and to another');
    const grpcRes = await grpcRtt(ctx);
    const p2pRes = await libp2pRtt(ctx);
    const echo = await spawnReady<{ grpc: string; libp2p: string[] }>(ECHO_CHILD, []);
    let grpcXp: LoadResult;
    let p2pXp: LoadResult;
    try {
      grpcXp = await grpcRtt(ctx, echo.ready.grpc);
      p2pXp = await libp2pRtt(ctx, echo.ready.libp2p);
    } finally {
      await echo.stop();
    }
    const rows: ResultRow[] = [
      loadRow('ORT in-process silero-vad (loop)', silero),
      loadRow(`ORT in-process silero-vad, each call after ${IDLE_GAP_MS} ms idle`, sileroIdle),
      loadRow('ORT in-process bench-mlp batch=1 (loop)', mlp),
      loadRow(`bare gRPC unary RTT (${SILERO_REQUEST_BYTES} B echo)`, grpcRes),
      loadRow('bare gRPC unary RTT, server in another process', grpcXp),
      loadRow(`bare libp2p RTT (${SILERO_REQUEST_BYTES} B echo, TCP+Noise+Yamux)`, p2pRes),
      loadRow('bare libp2p RTT, server in another process', p2pXp),
    ];
    return {
      name: 'limits', title: this.title, status: 'ok', durationMs: performance.now() - started,
      columns: LOAD_COLUMNS, rows,
      metrics: {
        ortSileroP50Ms: silero.latency.p50, ortSileroP99Ms: silero.latency.p99, ortSileroQps: silero.qps,
        ortSileroIdleP50Ms: sileroIdle.latency.p50,
        ortMlpP50Ms: mlp.latency.p50, ortMlpQps: mlp.qps,
        grpcRttP50Ms: grpcRes.latency.p50, grpcRttP99Ms: grpcRes.latency.p99,
        grpcRttXpP50Ms: grpcXp.latency.p50,
        libp2pRttP50Ms: p2pRes.latency.p50, libp2pRttP99Ms: p2pRes.latency.p99,
        libp2pRttXpP50Ms: p2pXp.latency.p50,
      },
      notes: [
        'ORT sessions use 1 intra-op and 1 inter-op thread; loops run one call at a time (c=1) for a fixed window after a warm-up.',
        `The "after ${IDLE_GAP_MS} ms idle" row times only the run: a run that follows idle time, as each query in a daemon does, finds cold caches.`,
        'The "another process" rows put the echo server in a child process (bench/echo-child.ts): both sides of every Plexus hop are separate processes.',
      ],
    };
  },
};
