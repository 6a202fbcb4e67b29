// The KServe v2 model repository extension on real nodes: RepositoryIndex / RepositoryModelLoad
// / RepositoryModelUnload over gRPC (a `config` parameter loads a new model, validated by the
// config compiler), an in-flight slow query on a model being unloaded still answers while new
// ones get NOT_FOUND, a 2-node cluster sees a loaded model and loses it after unload, and the
// same calls over REST.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  infer, originsFor, rawVadModel, rawVadRequest, removeTempDirs, startClusterNode, waitFor, type ClusterNode,
} from '../../cluster/helpers.ts';
import { request, startHttpNode, type HttpTestNode } from '../http/helpers.ts';
import { call, callError, SPEECH_WAV, startTestNode, vadRequest, type TestNode } from './helpers.ts';

interface IndexEntry { name: string; version: string; state: string; reason: string }

const index = async (client: grpc.Client, ready = false): Promise<IndexEntry[]> =>
  (await call<{ models: IndexEntry[] }>(client, 'RepositoryIndex', { repository_name: '', ready })).models;
const stateOf = async (client: grpc.Client, name: string): Promise<string | undefined> =>
  (await index(client)).find((m) => m.name === name)?.state;
const load = (client: grpc.Client, name: string, config?: unknown): Promise<unknown> => call(client, 'RepositoryModelLoad', {
  model_name: name, parameters: config === undefined ? {} : { config: { string_param: typeof config === 'string' ? config : JSON.stringify(config) } },
});
const unload = (client: grpc.Client, name: string, dependents = false): Promise<unknown> => call(client, 'RepositoryModelUnload', {
  model_name: name, parameters: dependents ? { unload_dependents: { bool_param: true } } : {},
});

const SLOW_ADAPTER = { adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad.slow'], fault: { delayMs: 800 } };

describe('model repository over gRPC', () => {
  let n: TestNode;
  beforeAll(async () => { n = await startTestNode(); });
  afterAll(async () => { await n.close(); });

  it('indexes the configured models as READY and announces the extension', async () => {
    const meta = await call<{ extensions: string[] }>(n.inference, 'ServerMetadata', {});
    expect(meta.extensions).toEqual(expect.arrayContaining(['model_repository', 'model_repository(unload_dependents)']));
    expect(await index(n.inference)).toEqual([
      { name: 'silero-vad', version: '1', state: 'READY', reason: '' },
      { name: 'silero-vad-segments', version: '1', state: 'READY', reason: '' },
    ]);
  });

  it('answers NOT_FOUND for unknown models and INVALID_ARGUMENT naming the field for bad configs', async () => {
    const unknown = await callError(n.inference, 'RepositoryModelLoad', { model_name: 'nope' });
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.details).toMatch(/'nope' is not in the model repository/);
    expect((await callError(n.inference, 'RepositoryModelUnload', { model_name: 'nope' })).code).toBe(grpc.status.NOT_FOUND);
    const noName = await callError(n.inference, 'RepositoryModelUnload', {});
    expect(noName.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noName.details).toBe('model_name is required');

    const cases: [unknown, RegExp][] = [
      [{ path: 'builtin:silero-vad', maxQueue: -1 }, /^config\.maxQueue: expected >= 0/],
      [{ path: 'builtin:silero-vad', speed: 3 }, /^config: unknown field "speed"/],
      [{ name: 'other', path: 'builtin:silero-vad' }, /^config\.name: "other" does not match the model name 'extra'/],
      [{ path: 'missing.onnx' }, /^config\.path: model file '.*missing\.onnx' does not exist/],
      [{ adapter: { type: 'silero-vad', model: 'ghost' } }, /^config\.adapter\.model: no model named 'ghost'/],
      ['{not json', /^config: not valid JSON/],
    ];
    for (const [config, message] of cases) {
      const e = await callError(n.inference, 'RepositoryModelLoad', {
        model_name: 'extra', parameters: { config: { string_param: typeof config === 'string' ? config : JSON.stringify(config) } },
      });
      expect(e.code, String(message)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e.details).toMatch(message);
    }
    const badParam = await callError(n.inference, 'RepositoryModelLoad', { model_name: 'silero-vad', parameters: { 'file:1/model.onnx': { bytes_param: Buffer.from('x') } } });
    expect(badParam.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badParam.details).toMatch(/parameter 'file:1\/model.onnx' is not supported/);
    expect((await index(n.inference)).map((m) => m.name)).toEqual(['silero-vad', 'silero-vad-segments']);
  });

  it('loads a model from a config entry (bytes or string) and serves it', async () => {
    await call(n.inference, 'RepositoryModelLoad', {
      model_name: 'vad-copy', parameters: { config: { bytes_param: Buffer.from(JSON.stringify({ path: 'builtin:silero-vad', capabilities: ['speech.vad.copy'] })) } },
    });
    expect(await stateOf(n.inference, 'vad-copy')).toBe('READY');
    expect((await call<{ ready: boolean }>(n.inference, 'ModelReady', { name: 'vad-copy' })).ready).toBe(true);
    const r = await call<{ model_name: string }>(n.inference, 'ModelInfer', rawVadRequest('speech.vad.copy'));
    expect(r.model_name).toBe('vad-copy');
    // A second load of a loaded model reloads it.
    await load(n.inference, 'vad-copy');
    expect(await stateOf(n.inference, 'vad-copy')).toBe('READY');
    await unload(n.inference, 'vad-copy');
    expect(await index(n.inference)).toContainEqual({ name: 'vad-copy', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' });
    expect((await index(n.inference, true)).map((m) => m.name)).not.toContain('vad-copy');
  });

  it('lets an in-flight slow query finish while the model unloads; new queries get NOT_FOUND', async () => {
    await load(n.inference, 'slow-segments', SLOW_ADAPTER);
    const slow = call<{ model_name: string; outputs: { name: string }[] }>(n.inference, 'ModelInfer', vadRequest(SPEECH_WAV, { model_name: 'slow-segments' }));
    // Unload once the query holds its slot (inside the 800 ms injected delay).
    await waitFor('the slow query to run', async () => (await inFlight(n, 'slow-segments')) === 1, 5000);
    const unloaded = unload(n.inference, 'slow-segments');
    await waitFor('slow-segments out of lookup', async () => !(await call<{ ready: boolean }>(n.inference, 'ModelReady', { name: 'slow-segments' })).ready, 5000);
    const refused = await callError(n.inference, 'ModelInfer', vadRequest(SPEECH_WAV, { model_name: 'slow-segments' }));
    expect(refused.code).toBe(grpc.status.NOT_FOUND);
    const answered = await slow;
    expect(answered.model_name).toBe('slow-segments');
    expect(answered.outputs.map((o) => o.name)).toEqual(['segments']);
    await unloaded;
    expect(await stateOf(n.inference, 'slow-segments')).toBe('UNAVAILABLE');
    expect((await callError(n.inference, 'ModelInfer', vadRequest(SPEECH_WAV, { model_name: 'slow-segments' }))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('refuses to unload a raw model an adapter runs on, unless unload_dependents is set', async () => {
    const refused = await callError(n.inference, 'RepositoryModelUnload', { model_name: 'silero-vad' });
    expect(refused.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(refused.details).toMatch(/refused to unload model 'silero-vad': adapter\(s\) 'silero-vad-segments' run on it/);
    expect(await stateOf(n.inference, 'silero-vad')).toBe('READY');

    await unload(n.inference, 'silero-vad', true);
    expect(await stateOf(n.inference, 'silero-vad')).toBe('UNAVAILABLE');
    expect(await stateOf(n.inference, 'silero-vad-segments')).toBe('UNAVAILABLE');
    expect((await callError(n.inference, 'ModelInfer', vadRequest(SPEECH_WAV))).code).toBe(grpc.status.NOT_FOUND);
    // Back from the repository (no config needed), raw model first.
    await load(n.inference, 'silero-vad');
    await load(n.inference, 'silero-vad-segments');
    expect((await index(n.inference, true)).map((m) => m.name)).toEqual(['silero-vad', 'silero-vad-segments']);
    const r = await call<{ model_name: string }>(n.inference, 'ModelInfer', vadRequest(SPEECH_WAV));
    expect(r.model_name).toBe('silero-vad-segments');
  });
});

/** Runs of `model` in progress, read from the node's own metrics (the engine's stats). */
async function inFlight(n: TestNode, model: string): Promise<number> {
  const { body } = await n.node.metrics.scrape();
  const line = body.split('\n').find((l) => l.startsWith(`plexus_in_flight{model="${model}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('model repository in a 2-node cluster', () => {
  let a: ClusterNode;
  let b: ClusterNode;
  beforeAll(async () => {
    a = await startClusterNode({ models: [rawVadModel()] });
    b = await startClusterNode({ models: [rawVadModel()], bootstrap: a.addrs });
    await waitFor('b to know a', () => originsFor(b, 'speech.vad.raw').has(a.peerId), 10_000);
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    removeTempDirs();
  });

  it('sees a model loaded on a peer within a bounded wait, and loses it after unload', async () => {
    await load(a.inference, 'extra-vad', { path: 'builtin:silero-vad', capabilities: ['speech.vad.extra'], session: { intraOpThreads: 1, interOpThreads: 1 } });
    // Re-advertised at once on load (not at the next refresh): generous bound for a busy box.
    await waitFor('b to learn extra-vad', () => originsFor(b, 'extra-vad').has(a.peerId), 3000);
    const r = await infer(b, {}, 10_000, 'speech.vad.extra');
    expect(r.model_name).toBe('extra-vad');
    await unload(a.inference, 'extra-vad');
    await waitFor('b to forget extra-vad', () => !originsFor(b, 'extra-vad').has(a.peerId), 3000);
    const e = await infer(b, {}, 10_000, 'speech.vad.extra').catch((x: unknown) => x as grpc.ServiceError);
    expect((e as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
  });
});

describe('model repository over REST', () => {
  // fetch sends a string body as text/plain unless told: the repository accepts only JSON.
  const JSON_TYPE = { 'content-type': 'application/json' };
  let h: HttpTestNode;
  beforeAll(async () => { h = await startHttpNode(); });
  afterAll(async () => { await h.close(); });

  it('indexes, loads and unloads', async () => {
    const idx = await fetch(`${h.base}/v2/repository/index`, { method: 'POST' });
    expect(idx.status).toBe(200);
    expect(await idx.json()).toEqual([
      { name: 'silero-vad', version: '1', state: 'READY', reason: '' },
      { name: 'silero-vad-segments', version: '1', state: 'READY', reason: '' },
    ]);
    const body = JSON.stringify({ parameters: { config: JSON.stringify({ path: 'builtin:silero-vad', capabilities: ['speech.vad.rest'] }) } });
    const loaded = await request(`${h.base}/v2/repository/models/rest-vad/load`, { method: 'POST', headers: JSON_TYPE, body });
    expect(loaded.status).toBe(200);
    expect((await request(`${h.base}/v2/models/rest-vad/ready`)).status).toBe(200);
    const bad = await request(`${h.base}/v2/repository/models/rest-bad/load`, {
      method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ parameters: { config: JSON.stringify({ path: 'builtin:silero-vad', price: -1 }) } }),
    });
    expect(bad.status).toBe(400);
    expect(bad.json?.error).toMatch(/^config\.price: expected >= 0/);
    expect((await request(`${h.base}/v2/repository/models/nope/unload`, { method: 'POST' })).status).toBe(404);
    expect((await request(`${h.base}/v2/repository/models/rest-vad/unload`, { method: 'GET' })).status).toBe(405);
    const unloaded = await request(`${h.base}/v2/repository/models/rest-vad/unload`, { method: 'POST' });
    expect(unloaded.status).toBe(200);
    expect((await request(`${h.base}/v2/models/rest-vad/ready`)).status).not.toBe(200);
    const ready = await request(`${h.base}/v2/repository/index`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ ready: true }) });
    expect((ready.json as unknown as IndexEntry[]).map((m) => m.name)).toEqual(['silero-vad', 'silero-vad-segments']);
  });
});
