// /metrics on a node with one batching and one plain speech.vad adapter: concurrent queries
// show up in the batch-size histogram (some step carried several requests) only for the
// batching one; gRPC and REST queries are counted apart by the `api` label; the options accept
// --http / node.http and refuse a bad address before anything binds.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { compileNodeOptions } from '../../../src/node/options.ts';
import { call, connectAll, vadRequest } from '../grpc/helpers.ts';
import { metricValue, postJson, request, startHttpNode, type HttpTestNode } from './helpers.ts';

const WAV = readFileSync(path.resolve(import.meta.dirname, '../../fixtures/speech-8k-mono.wav'));
const vadBody = { inputs: [{ name: 'audio', shape: [1], datatype: 'BYTES', data: [{ b64: WAV.toString('base64') }] }] };

let t: HttpTestNode;
beforeAll(async () => {
  t = await startHttpNode({
    models: [
      { name: 'silero-vad', path: 'builtin:silero-vad', capabilities: ['speech.vad.raw'], maxQueue: 64 },
      { name: 'vad-batched', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'], batching: { maxBatchSize: 8, maxQueueDelayUs: 20_000 } },
      { name: 'vad-plain', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad-plain'] },
    ],
  });
});
afterAll(async () => { await t.close(); });

describe('/metrics', () => {
  it('has a batch-size histogram for the batching model, with steps that carried several requests', async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, () => postJson(`${t.base}/v2/models/vad-batched/infer`, vadBody)));
    for (const a of answers) expect(a.status, a.text).toBe(200);
    expect((await postJson(`${t.base}/v2/models/vad-plain/infer`, vadBody)).status).toBe(200);

    const text = (await request(`${t.base}/metrics`)).text;
    const count = metricValue(text, 'plexus_batch_size_count', { model: 'vad-batched' }) ?? 0;
    const ofOne = metricValue(text, 'plexus_batch_size_bucket', { model: 'vad-batched', le: '1' }) ?? 0;
    expect(count).toBeGreaterThan(0);
    expect(ofOne).toBeLessThan(count);
    expect(metricValue(text, 'plexus_batch_size_count', { model: 'vad-plain' })).toBeUndefined();
    // Every query went through the raw model's ORT session.
    expect(metricValue(text, 'plexus_compute_seconds_count', { model: 'silero-vad' })).toBeGreaterThan(0);
    expect(metricValue(text, 'plexus_requests_total', { api: 'http', model: 'vad-batched', code: 'OK' })).toBe(4);
    expect(metricValue(text, 'plexus_requests_total', { api: 'http', model: 'vad-plain', code: 'OK' })).toBe(1);
  });

  it('counts gRPC queries under api="grpc"', async () => {
    const clients = connectAll(t.grpc);
    try {
      await call(clients.inference, 'ModelInfer', vadRequest(WAV, { model_name: 'vad-plain' }));
      await expect(call(clients.inference, 'ModelInfer', vadRequest(WAV, { model_name: 'nothing-here' }))).rejects.toThrow(/nothing-here/);
    } finally {
      clients.close();
    }
    const text = (await request(`${t.base}/metrics`)).text;
    expect(metricValue(text, 'plexus_requests_total', { api: 'grpc', model: 'vad-plain', code: 'OK' })).toBe(1);
    expect(metricValue(text, 'plexus_requests_total', { api: 'grpc', model: '_unknown', code: 'NOT_FOUND' })).toBe(1);
    expect(metricValue(text, 'plexus_requests_total', { api: 'http', model: 'vad-plain', code: 'OK' })).toBe(1);
  });
});

describe('HTTP options', () => {
  const env = { cwd: process.cwd(), home: tmpdir() };

  it('is off unless --http or node.http gives an address; the flag wins over the file', () => {
    expect(compileNodeOptions({ grpc: '127.0.0.1:0' }, env).http).toBeUndefined();
    expect(compileNodeOptions({ http: '0.0.0.0:8000' }, env).http).toEqual({ address: { host: '0.0.0.0', port: 8000 } });
    const dir = mkdtempSync(path.join(tmpdir(), 'plexus-http-opts-'));
    const config = path.join(dir, 'plexus.yaml');
    writeFileSync(config, 'node:\n  http: "[::1]:9000"\n');
    expect(compileNodeOptions({ config }, env).http).toEqual({ address: { host: '::1', port: 9000 } });
    expect(compileNodeOptions({ config, http: '127.0.0.1:0' }, env).http).toEqual({ address: { host: '127.0.0.1', port: 0 } });
  });

  it('refuses a bad address naming the flag or the field', () => {
    expect(() => compileNodeOptions({ http: 'localhost' }, env)).toThrow(ConfigError);
    expect(() => compileNodeOptions({ http: 'localhost' }, env)).toThrow(/--http/);
    const dir = mkdtempSync(path.join(tmpdir(), 'plexus-http-opts-'));
    const config = path.join(dir, 'plexus.yaml');
    writeFileSync(config, 'node:\n  http: "127.0.0.1:70000"\n');
    expect(() => compileNodeOptions({ config }, env)).toThrow(/node\.http/);
  });
});
