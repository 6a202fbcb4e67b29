// Scenario 1, the limits: what the pieces Plexus is built from cost on their own, measured in
// this same process right before the Plexus scenarios, so the ratios compare like with like.
//  - ONNX Runtime in-process loop on raw Silero VAD (and the tiny batchable MLP);
//  - a bare libp2p request/response round trip (TCP+Noise+Yamux, one long-lived stream);
//  - a bare gRPC unary round trip (grpc-js, raw-bytes echo on 127.0.0.1).
// Payloads are the size of a Silero ModelInfer request so transport cost is comparable.
import * as ort from 'onnxruntime-node';
import * as grpc from '@grpc/grpc-js';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Stream } from '@libp2p/interface';
import { closedLoop, type LoadResult } from '../load.ts';
import { writeMlpModel, DEFAULT_MLP } from '../models/mlp.ts';
import { sileroModelPath, sileroFeeds, SILERO_REQUEST_BYTES } from '../models/silero.ts';
import { loadRow, LOAD_COLUMNS } from '../rows.ts';
import type { Scenario, ScenarioContext, ScenarioResult, ResultRow } from '../types.ts';

const ECHO_PROTOCOL = '/plexus-bench/echo/1.0.0';

/** One caller, one call at a time, for a fixed window after a warm-up. */
function loopWindow(ctx: ScenarioContext): { concurrency: number; durationMs: number; warmupMs: number } {
  return { concurrency: 1, durationMs: ctx.quick ? 2000 : 8000, warmupMs: ctx.quick ? 500 : 1500 };
}

async function ortLoop(ctx: ScenarioContext): Promise<{ silero: LoadResult; mlp: LoadResult }> {
    const silero = await ort.InferenceSession.create(sileroModelPath(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = sileroFeeds();
  const sileroRes = await closedLoop(async () => { await silero.run(feeds); }, loopWindow(ctx));
  await silero.release();
  const mlp = await ort.InferenceSession.create(writeMlpModel(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const x = new ort.Tensor('float32', new Float32Array(DEFAULT_MLP.inputs).fill(0.25), [1, DEFAULT_MLP.inputs]);
  const mlpRes = await closedLoop(async () => { await mlp.run({ x }); }, loopWindow(ctx));
  await mlp.release();
  return { silero: sileroRes, mlp: mlpRes };
}

async function grpcRtt(ctx: ScenarioContext): Promise<LoadResult> {
  const passthrough = (b: Buffer): Buffer => b;
  const service: grpc.ServiceDefinition = {
    Echo: {
      path: '/plexus.bench.Echo/Echo', requestStream: false, responseStream: false,
      requestSerialize: passthrough, requestDeserialize: passthrough,
      responseSerialize: passthrough, responseDeserialize: passthrough,
    },
  };
  const server = new grpc.Server();
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => { cb(null, call.request); },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  const Client = grpc.makeGenericClientConstructor(service, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const payload = Buffer.alloc(SILERO_REQUEST_BYTES, 7);
  const call = (): Promise<void> => new Promise((resolve, reject) => {
    client.makeUnaryRequest('/plexus.bench.Echo/Echo', passthrough, passthrough, payload, (err) => (err ? reject(err) : resolve()));
  });
  try {
    return await closedLoop(call, loopWindow(ctx));
  } finally {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
}

function libp2pNode(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
}

/** Sends one payload and resolves when as many bytes have come back. */
function echoClient(stream: Stream): (payload: Uint8Array) => Promise<void> {
  let want = 0;
  let got = 0;
  let done: (() => void) | undefined;
  stream.addEventListener('message', (evt) => {
    got += evt.data.byteLength;
    if (done !== undefined && got >= want) { const d = done; done = undefined; d(); }
  });
  return async (payload) => {
    want = payload.byteLength;
    got = 0;
    const p = new Promise<void>((resolve) => { done = resolve; });
    if (!stream.send(payload)) await stream.onDrain();
    await p;
  };
}

async function libp2pRtt(ctx: ScenarioContext): Promise<LoadResult> {
  const [a, b] = await Promise.all([libp2pNode(), libp2pNode()]);
  try {
    await b.handle(ECHO_PROTOCOL, (stream) => {
      stream.addEventListener('message', (evt) => { stream.send(evt.data); });
    });
    const stream = await a.dialProtocol(b.getMultiaddrs(), ECHO_PROTOCOL);
    const send = echoClient(stream);
    const payload = new Uint8Array(SILERO_REQUEST_BYTES).fill(7);
    const res = await closedLoop(() => send(payload), loopWindow(ctx));
    await stream.close();
    return res;
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

export const limitsScenario: Scenario = {
  name: 'limits',
  title: '1. Limits: the building blocks alone',
  async run(ctx): Promise<ScenarioResult> {
    const started = performance.now();
    ctx.log('limits: ONNX Runtime in-process loops');
    const { silero, mlp } = await ortLoop(ctx);
    ctx.log('limits: bare gRPC unary round trip');
    const grpcRes = await grpcRtt(ctx);
    ctx.log('limits: bare libp2p round trip');
    const p2pRes = await libp2pRtt(ctx);
    const rows: ResultRow[] = [
      loadRow('ORT in-process silero-vad (loop)', silero),
      loadRow('ORT in-process bench-mlp batch=1 (loop)', mlp),
      loadRow(`bare gRPC unary RTT (${SILERO_REQUEST_BYTES} B echo)`, grpcRes),
      loadRow(`bare libp2p RTT (${SILERO_REQUEST_BYTES} B echo, TCP+Noise+Yamux)`, p2pRes),
    ];
    return {
      name: 'limits', title: this.title, status: 'ok', durationMs: performance.now() - started,
      columns: LOAD_COLUMNS, rows,
      metrics: {
        ortSileroP50Ms: silero.latency.p50, ortSileroP99Ms: silero.latency.p99, ortSileroQps: silero.qps,
        ortMlpP50Ms: mlp.latency.p50, ortMlpQps: mlp.qps,
        grpcRttP50Ms: grpcRes.latency.p50, grpcRttP99Ms: grpcRes.latency.p99,
        libp2pRttP50Ms: p2pRes.latency.p50, libp2pRttP99Ms: p2pRes.latency.p99,
      },
      notes: ['ORT sessions use 1 intra-op and 1 inter-op thread; loops run one call at a time (c=1) for a fixed window after a warm-up.'],
    };
  },
};
