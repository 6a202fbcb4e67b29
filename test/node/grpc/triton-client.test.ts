// A node driven the way tritonclient.grpc and perf_analyzer drive Triton, through a client's own
// copy of Triton's protos (test/fixtures/triton, loaded apart from the node's proto/, enums as
// numbers): server and model metadata, ModelConfig, ModelStatistics before and after, ModelInfer
// with BYTES elements length-prefixed in raw_input_contents and outputs asked as binary_data,
// ModelStreamInfer. Then the same content over REST, and a pure router that answers config and
// statistics for a model that lives on its neighbour.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMlpModel } from '../../../bench/models/mlp.ts';
import { startHttpNode, type HttpTestNode } from '../http/helpers.ts';
import { callError, call, FIXTURES, fp32, SPEECH_WAV } from './helpers.ts';

const TRITON = path.join(FIXTURES, 'triton');
const definition = protoLoader.loadSync('grpc_service.proto', {
  keepCase: true, longs: String, enums: Number, defaults: true, arrays: true, oneofs: true, includeDirs: [TRITON],
});
const Service = (grpc.loadPackageDefinition(definition).inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;

const TYPE_FP32 = 11;
const TYPE_STRING = 13;
const KIND_CPU = 2;

/** tritonclient's BYTES serialization: each element as a 4-byte little-endian length, then its bytes. */
function lengthPrefixed(elements: readonly Uint8Array[]): Buffer {
  return Buffer.concat(elements.flatMap((e) => {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(e.byteLength);
    return [len, Buffer.from(e)];
  }));
}

function vadInfer(id: string, wav: Uint8Array = SPEECH_WAV): Record<string, unknown> {
  return {
    model_name: 'speech.vad', id,
    inputs: [{ name: 'audio', datatype: 'BYTES', shape: ['1'] }],
    outputs: [{ name: 'segments', parameters: { binary_data: { bool_param: true } } }],
    raw_input_contents: [lengthPrefixed([wav])],
  };
}

interface Duration { count: string; ns: string }
interface Stats {
  name: string; version: string; last_inference: string; inference_count: string; execution_count: string;
  inference_stats: Record<'success' | 'fail' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output', Duration>;
}
interface Tensor { name: string; data_type: number; dims: string[] }
interface Config {
  name: string; platform: string; backend: string; max_batch_size: number; input: Tensor[]; output: Tensor[];
  scheduling_choice?: string; dynamic_batching?: { max_queue_delay_microseconds: string };
  instance_group: { kind: number; count: number }[];
}

/** The sample count of a Prometheus series, summed over the series matching every label given. */
function promCount(text: string, metric: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').at(-1));
  }
  return total;
}

let a: HttpTestNode;
let router: HttpTestNode;
let client: grpc.Client;
let routerClient: grpc.Client;
const started = Date.now();

beforeAll(async () => {
  a = await startHttpNode({
    models: [
      { name: 'silero-vad', path: 'builtin:silero-vad', capabilities: ['speech.vad.raw'], session: { intraOpThreads: 1, interOpThreads: 1 } },
      { name: 'silero-vad-segments', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'], batching: { maxBatchSize: 64, maxQueueDelayUs: 0 } },
      { name: 'mlp', path: writeMlpModel(), maxConcurrent: 2, batching: { maxBatchSize: 8, maxQueueDelayUs: 500 } },
    ],
  });
  router = await startHttpNode({ noModels: true, bootstrap: a.node.listenAddrs() });
  client = new Service(a.grpc, grpc.credentials.createInsecure());
  routerClient = new Service(router.grpc, grpc.credentials.createInsecure());
  // The router learns speech.vad from A's adverts.
  const until = Date.now() + 15_000;
  while ((await fetch(`${router.base}/v2/models/speech.vad`)).status !== 200) {
    if (Date.now() > until) throw new Error('the router never learned speech.vad');
    await new Promise((r) => setTimeout(r, 100));
  }
}, 30_000);

afterAll(async () => {
  client.close();
  routerClient.close();
  await router.close();
  await a.close();
});

describe('a Triton client (tritonclient.grpc / perf_analyzer flow)', () => {
  it('reads server metadata, then model metadata and config of a capability', async () => {
    const server = await call<{ name: string; extensions: string[] }>(client, 'ServerMetadata', {});
    expect(server.name).toBe('plexus');
    expect(server.extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'model_configuration', 'statistics']));
    const meta = await call<{ name: string; inputs: { name: string; datatype: string; shape: string[] }[] }>(client, 'ModelMetadata', { name: 'speech.vad' });
    expect(meta.name).toBe('silero-vad-segments');
    const { config } = await call<{ config: Config }>(client, 'ModelConfig', { name: 'speech.vad' });
    expect(config).toMatchObject({
      name: 'silero-vad-segments', platform: 'plexus_adapter', backend: 'plexus', max_batch_size: 0,
      input: [{ name: 'audio', data_type: TYPE_STRING, dims: ['1'] }],
      output: [{ name: 'segments', data_type: TYPE_FP32, dims: ['-1', '2'] }],
      scheduling_choice: 'dynamic_batching', dynamic_batching: { max_queue_delay_microseconds: '0' },
      instance_group: [{ kind: KIND_CPU, count: 1 }],
    });
    expect(config.input.map((t) => t.dims)).toEqual(meta.inputs.map((t) => t.shape));
  });

  it('a raw model: without batching its dims are the full shape; with batching the batch dim is left out', async () => {
    const raw = (await call<{ config: Config }>(client, 'ModelConfig', { name: 'silero-vad' })).config;
    const rawMeta = await call<{ inputs: { shape: string[] }[] }>(client, 'ModelMetadata', { name: 'silero-vad' });
    expect(raw).toMatchObject({ platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 0 });
    expect(raw.scheduling_choice).toBeUndefined();
    expect(raw.input.map((t) => t.dims)).toEqual(rawMeta.inputs.map((t) => t.shape));
    const mlp = (await call<{ config: Config }>(client, 'ModelConfig', { name: 'mlp', version: '1' })).config;
    const mlpMeta = await call<{ inputs: { shape: string[] }[]; outputs: { shape: string[] }[] }>(client, 'ModelMetadata', { name: 'mlp' });
    expect(mlp).toMatchObject({ max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: '500' }, instance_group: [{ kind: KIND_CPU, count: 2 }] });
    expect(mlp.input.map((t) => t.dims)).toEqual(mlpMeta.inputs.map((t) => t.shape.slice(1)));
    expect(mlp.output.map((t) => t.dims)).toEqual(mlpMeta.outputs.map((t) => t.shape.slice(1)));
  });

  it('infers with length-prefixed BYTES and binary_data outputs, unary and streaming; statistics count them as /metrics does', async () => {
    const before = (await call<{ model_stats: Stats[] }>(client, 'ModelStatistics', { name: 'speech.vad' })).model_stats;
    expect(before).toHaveLength(1);
    expect(before[0]?.inference_stats.success.count).toBe('0');

    const r = await call<{ model_name: string; id: string; outputs: { name: string; shape: string[] }[]; raw_output_contents: Buffer[] }>(client, 'ModelInfer', vadInfer('u1'));
    expect(r.model_name).toBe('silero-vad-segments');
    expect(r.id).toBe('u1');
    expect(r.outputs[0]?.shape).toEqual(['2', '2']);
    expect(r.raw_output_contents).toHaveLength(1);
    expect(fp32(r.raw_output_contents[0] ?? Buffer.alloc(0))[0]).toBeCloseTo(0.962, 2);

    const typed = (client as unknown as { ModelStreamInfer(): grpc.ClientDuplexStream<unknown, { error_message: string; infer_response: { id: string; raw_output_contents: Buffer[] } }> }).ModelStreamInfer();
    const answers: { error_message: string; infer_response: { id: string; raw_output_contents: Buffer[] } }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      typed.on('data', (m: (typeof answers)[number]) => answers.push(m));
      typed.on('end', resolve);
      typed.on('error', reject);
    });
    typed.write(vadInfer('s1'));
    typed.write(vadInfer('s2'));
    typed.write(vadInfer('bad', Buffer.from('not a wav')));
    typed.end();
    await done;
    expect(answers.map((x) => x.infer_response.id).sort()).toEqual(['bad', 's1', 's2']);
    expect(answers.find((x) => x.infer_response.id === 'bad')?.error_message).toMatch(/WAV/);
    expect(answers.find((x) => x.infer_response.id === 's2')?.infer_response.raw_output_contents).toHaveLength(1);

    const [vad] = (await call<{ model_stats: Stats[] }>(client, 'ModelStatistics', { name: 'speech.vad' })).model_stats;
    expect(vad).toMatchObject({ name: 'silero-vad-segments', version: '1', inference_count: '3' });
    expect(vad?.inference_stats.success.count).toBe('3');
    expect(vad?.inference_stats.fail.count).toBe('1');
    expect(Number(vad?.inference_stats.success.ns)).toBeGreaterThan(0);
    expect(Number(vad?.last_inference)).toBeGreaterThanOrEqual(started);
    expect(Number(vad?.last_inference)).toBeLessThanOrEqual(Date.now());
    // The adapter's own executions (its ORT steps count on silero-vad) and the time around them:
    // WAV decoding as input preparation, the segments as output; the bad WAV counts in none.
    expect(vad?.execution_count).toBe('3');
    for (const phase of ['compute_input', 'compute_infer', 'compute_output'] as const) {
      expect(vad?.inference_stats[phase].count).toBe('3');
      expect(Number(vad?.inference_stats[phase].ns)).toBeGreaterThan(0);
    }

    const metrics = await (await fetch(`${a.base}/metrics`)).text();
    expect(promCount(metrics, 'plexus_request_duration_seconds_count', { model: 'speech.vad', code: 'OK' })).toBe(3);
    expect(promCount(metrics, 'plexus_requests_total', { model: 'speech.vad', code: 'INVALID_ARGUMENT' })).toBe(1);
    const [raw] = (await call<{ model_stats: Stats[] }>(client, 'ModelStatistics', { name: 'silero-vad', version: '1' })).model_stats;
    expect(Number(raw?.execution_count)).toBeGreaterThan(0);
    expect(Number(raw?.execution_count)).toBe(promCount(metrics, 'plexus_compute_seconds_count', { model: 'silero-vad' }));
    expect(Number(raw?.inference_stats.compute_infer.count)).toBe(Number(raw?.execution_count));
    expect(Number(raw?.inference_stats.queue.count)).toBe(promCount(metrics, 'plexus_queue_wait_seconds_count', { model: 'silero-vad' }));
    for (const [phase, stat] of [['input', 'compute_input'], ['execute', 'compute_infer'], ['output', 'compute_output']] as const) {
      expect(promCount(metrics, 'plexus_request_phase_seconds_count', { model: 'silero-vad-segments', phase })).toBe(Number(vad?.inference_stats[stat].count));
    }
  }, 30_000);

  it('an empty name lists every model; unknown names are NOT_FOUND, a missing one INVALID_ARGUMENT', async () => {
    const all = (await call<{ model_stats: Stats[] }>(client, 'ModelStatistics', {})).model_stats;
    expect(all.map((s) => s.name).sort()).toEqual(['mlp', 'silero-vad', 'silero-vad-segments']);
    expect((await callError(client, 'ModelStatistics', { name: 'nope' })).code).toBe(grpc.status.NOT_FOUND);
    expect((await callError(client, 'ModelStatistics', { name: 'mlp', version: '2' })).code).toBe(grpc.status.NOT_FOUND);
    expect((await callError(client, 'ModelConfig', { name: 'nope' })).code).toBe(grpc.status.NOT_FOUND);
    expect((await callError(client, 'ModelConfig', { name: '' })).code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('REST: Triton JSON for config and statistics', () => {
  it('GET /v2/models/{name}/config and .../stats, /v2/models/stats', async () => {
    const config = await (await fetch(`${a.base}/v2/models/speech.vad/config`)).json() as Record<string, unknown>;
    expect(config).toMatchObject({ name: 'silero-vad-segments', max_batch_size: 0, input: [{ name: 'audio', data_type: 'TYPE_STRING', dims: [1] }] });
    const mlp = await (await fetch(`${a.base}/v2/models/mlp/versions/1/config`)).json() as Record<string, unknown>;
    expect(mlp).toMatchObject({ max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: 500 }, instance_group: [{ kind: 'KIND_CPU', count: 2 }] });
    const stats = await (await fetch(`${a.base}/v2/models/mlp/stats`)).json() as { model_stats: { name: string; inference_stats: { success: { count: number } } }[] };
    expect(stats.model_stats).toEqual([expect.objectContaining({ name: 'mlp', version: '1', inference_count: 0 })]);
    const all = await (await fetch(`${a.base}/v2/models/stats`)).json() as { model_stats: { name: string }[] };
    expect(all.model_stats.map((s) => s.name).sort()).toEqual(['mlp', 'silero-vad', 'silero-vad-segments']);
    expect((await fetch(`${a.base}/v2/models/nope/config`)).status).toBe(404);
    expect((await fetch(`${a.base}/v2/models/mlp/versions/9/stats`)).status).toBe(404);
    expect((await fetch(`${a.base}/v2/models/mlp/config`, { method: 'POST' })).status).toBe(405);
  });
});

describe('a pure router', () => {
  it('answers config and statistics for a model its neighbour hosts', async () => {
    const { config } = await call<{ config: Config }>(routerClient, 'ModelConfig', { name: 'speech.vad' });
    expect(config).toMatchObject({ name: 'silero-vad-segments', max_batch_size: 0, input: [{ name: 'audio', data_type: TYPE_STRING, dims: ['1'] }], instance_group: [{ kind: KIND_CPU }] });
    const zero = (await call<{ model_stats: Stats[] }>(routerClient, 'ModelStatistics', { name: 'speech.vad' })).model_stats;
    expect(zero.map((s) => s.inference_count)).toEqual(['0']);
    await call(routerClient, 'ModelInfer', vadInfer('r1'));
    const all = (await call<{ model_stats: Stats[] }>(routerClient, 'ModelStatistics', {})).model_stats;
    expect(all).toEqual([expect.objectContaining({ name: 'silero-vad-segments', inference_count: '1', execution_count: '0' })]);
  }, 20_000);
});
