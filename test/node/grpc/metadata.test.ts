// Server/model metadata, Health and the Plexus service, over real gRPC.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callError, startTestNode, type TestNode } from './helpers.ts';

let t: TestNode;
beforeAll(async () => { t = await startTestNode(); });
afterAll(async () => { await t.close(); });

describe('KServe server and model metadata', () => {
  it('is live and ready, and names itself', async () => {
    expect(await call(t.inference, 'ServerLive', {})).toEqual({ live: true });
    expect(await call(t.inference, 'ServerReady', {})).toEqual({ ready: true });
    const meta = await call(t.inference, 'ServerMetadata', {});
    expect(meta).toMatchObject({ name: 'plexus', version: '0.1.0' });
    expect(meta.extensions).toContain('binary_tensor_data');
  });

  it('reports model readiness by model name and by capability', async () => {
    expect(await call(t.inference, 'ModelReady', { name: 'silero-vad' })).toEqual({ ready: true });
    expect(await call(t.inference, 'ModelReady', { name: 'speech.vad' })).toEqual({ ready: true });
    expect(await call(t.inference, 'ModelReady', { name: 'no-such-model' })).toEqual({ ready: false });
    const e = await callError(t.inference, 'ModelReady', { name: '' });
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('returns model metadata with tensor signatures', async () => {
    const raw = await call(t.inference, 'ModelMetadata', { name: 'silero-vad' });
    expect(raw).toMatchObject({ name: 'silero-vad', versions: ['1'], platform: 'onnxruntime_onnx' });
    expect(raw.inputs).toEqual(expect.arrayContaining([{ name: 'sr', datatype: 'INT64', shape: [] }]));
    const adapter = await call(t.inference, 'ModelMetadata', { name: 'speech.vad' });
    expect(adapter).toMatchObject({
      name: 'silero-vad-segments', platform: 'plexus_adapter',
      inputs: [{ name: 'audio', datatype: 'BYTES', shape: ['1'] }],
      outputs: [{ name: 'segments', datatype: 'FP32', shape: ['-1', '2'] }],
    });
  });

  it('answers NOT_FOUND for unknown models and versions', async () => {
    const e = await callError(t.inference, 'ModelMetadata', { name: 'nope' });
    expect(e.code).toBe(grpc.status.NOT_FOUND);
    expect(e.details).toContain("'nope'");
    const v = await callError(t.inference, 'ModelMetadata', { name: 'silero-vad', version: '99' });
    expect(v.code).toBe(grpc.status.NOT_FOUND);
    expect(v.details).toContain("'99'");
  });
});

describe('Plexus service', () => {
  it('GetNode lists the hosted models with providers and the bound address', async () => {
    const node = await call(t.plexus, 'GetNode', {});
    expect(node).toMatchObject({ peer_id: '', version: '0.1.0', grpc_address: t.address });
    expect(node.uptime_seconds).toBeGreaterThan(0);
    const models = node.models as Record<string, unknown>[];
    expect(models.map((m) => m.name)).toEqual(['silero-vad', 'silero-vad-segments']);
    expect(models[1]).toMatchObject({
      capabilities: ['speech.vad'], platform: 'plexus_adapter', requested_provider: 'cpu', provider: 'cpu', ready: true, price: 0,
    });
  });

  it('ListCapabilities maps capabilities to the models that serve them', async () => {
    const all = await call<{ capabilities: { name: string; providers: Record<string, unknown>[] }[] }>(t.plexus, 'ListCapabilities', {});
    expect(all.capabilities.map((c) => c.name)).toEqual(['speech.vad', 'speech.vad.raw']);
    expect(all.capabilities[0]?.providers).toEqual([expect.objectContaining({ model: 'silero-vad-segments', local: true, ready: true, hops: 0 })]);
    const one = await call<{ capabilities: unknown[] }>(t.plexus, 'ListCapabilities', { capability: 'speech.vad.raw' });
    expect(one.capabilities).toHaveLength(1);
  });
});

describe('Health', () => {
  it('checks the server and each service', async () => {
    for (const service of ['', 'inference.GRPCInferenceService', 'plexus.v1.Plexus', 'grpc.health.v1.Health']) {
      expect(await call(t.health, 'Check', { service })).toEqual({ status: 'SERVING' });
    }
    const e = await callError(t.health, 'Check', { service: 'no.such.Service' });
    expect(e.code).toBe(grpc.status.NOT_FOUND);
  });
});
