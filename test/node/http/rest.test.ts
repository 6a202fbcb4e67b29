// KServe v2 REST on a real node: health, metadata, JSON inference (WAV as base64 BYTES on
// speech.vad; FP32/INT64 data, flat and nested, on the raw silero-vad), errors with their HTTP
// status and a message naming what is wrong, and the query counter on /metrics.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../grpc/helpers.ts';
import { metricValue, postJson, request, startHttpNode, type HttpTestNode } from './helpers.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures');
const SPEECH_WAV = readFileSync(path.join(FIXTURES, 'speech-22k-mono.wav'));
const SPEECH_TRUTH = JSON.parse(readFileSync(path.join(FIXTURES, 'speech.json'), 'utf8')) as { speech: [number, number][] };

let t: HttpTestNode;
beforeAll(async () => { t = await startHttpNode(); });
afterAll(async () => { await t.close(); });

const vadBody = (id?: string): object => ({
  ...(id === undefined ? {} : { id }),
  inputs: [{ name: 'audio', shape: [1], datatype: 'BYTES', data: [{ b64: SPEECH_WAV.toString('base64') }] }],
});

const samples = Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin(i / 5));
const rawInputs = (nested: boolean): object[] => [
  { name: 'input', datatype: 'FP32', shape: [1, 512], data: nested ? [samples] : samples },
  { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: nested ? [[new Array(128).fill(0)], [new Array(128).fill(0)]] : new Array(256).fill(0) },
  { name: 'sr', datatype: 'INT64', shape: [], data: nested ? 16000 : ['16000'] },
];

describe('health and metadata', () => {
  it('answers live and ready with 200 and an empty body', async () => {
    for (const p of ['/v2/health/live', '/v2/health/ready']) {
      const r = await request(`${t.base}${p}`);
      expect(r.status, p).toBe(200);
      expect(r.text).toBe('');
    }
  });

  it('describes the server', async () => {
    const r = await request(`${t.base}/v2`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: 'plexus', extensions: ['parameters'] });
    expect(typeof r.json?.version).toBe('string');
  });

  it('describes a model by capability, by name and by version, and says it is ready', async () => {
    const byCap = await request(`${t.base}/v2/models/speech.vad`);
    expect(byCap.status).toBe(200);
    expect(byCap.json).toEqual({
      name: 'silero-vad-segments', versions: ['1'], platform: 'plexus_adapter',
      inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1] }], outputs: [{ name: 'segments', datatype: 'FP32', shape: [-1, 2] }],
    });
    const raw = await request(`${t.base}/v2/models/silero-vad/versions/1`);
    expect(raw.status).toBe(200);
    expect(raw.json).toMatchObject({ name: 'silero-vad', platform: 'onnxruntime_onnx' });
    expect((raw.json?.inputs as { name: string }[]).map((i) => i.name)).toEqual(['input', 'state', 'sr']);
    expect((await request(`${t.base}/v2/models/silero-vad/ready`)).status).toBe(200);
    expect((await request(`${t.base}/v2/models/speech.vad/versions/1/ready`)).status).toBe(200);
  });

  it('answers 404 with a JSON error for an unknown model, version or endpoint', async () => {
    const unknown = await request(`${t.base}/v2/models/no-such-model`);
    expect(unknown.status).toBe(404);
    expect(unknown.json?.error).toMatch(/no-such-model/);
    const version = await request(`${t.base}/v2/models/silero-vad/versions/9/ready`);
    expect(version.status).toBe(404);
    expect(version.json?.error).toMatch(/version '9'/);
    const endpoint = await request(`${t.base}/v2/nothing/here`);
    expect(endpoint.status).toBe(404);
    expect(endpoint.json?.error).toMatch(/no such endpoint/);
  });

  it('answers 405 naming the method for the wrong one', async () => {
    const r = await request(`${t.base}/v2/models/speech.vad/infer`);
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
    expect(r.json?.error).toMatch(/use POST/);
  });
});

describe('infer', () => {
  it('finds the speech segments of a WAV sent as base64 BYTES to speech.vad, with the route in the parameters', async () => {
    const r = await postJson(`${t.base}/v2/models/speech.vad/infer`, vadBody('q-1'));
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ model_name: 'silero-vad-segments', model_version: '1', id: 'q-1' });
    const params = r.json?.parameters as Record<string, unknown>;
    expect(params['plexus.route']).toBe(t.node.peerId());
    expect(params['plexus.served_by']).toBe(t.node.peerId());
    const [out] = r.json?.outputs as { name: string; datatype: string; shape: number[]; data: number[] }[];
    expect(out).toMatchObject({ name: 'segments', datatype: 'FP32', shape: [SPEECH_TRUTH.speech.length, 2] });
    SPEECH_TRUTH.speech.flat().forEach((s, i) => expect(Math.abs((out?.data[i] ?? NaN) - s)).toBeLessThan(0.25));
  });

  it('runs the raw silero-vad on FP32/INT64 JSON data, flat or nested, with the same answer', async () => {
    const outputs: Record<string, { shape: number[]; data: number[] }>[] = [];
    for (const nested of [false, true]) {
      const r = await postJson(`${t.base}/v2/models/silero-vad/infer`, { inputs: rawInputs(nested), outputs: [{ name: 'output' }, { name: 'stateN' }] });
      expect(r.status, r.text).toBe(200);
      expect(r.json?.id).toBeUndefined(); // none sent, none echoed
      outputs.push(Object.fromEntries((r.json?.outputs as { name: string; shape: number[]; data: number[] }[]).map((o) => [o.name, o])));
    }
    const [flat, nested] = outputs;
    expect(flat?.output?.shape).toEqual([1, 1]);
    expect(flat?.output?.data[0]).toBeGreaterThanOrEqual(0);
    expect(flat?.output?.data[0]).toBeLessThanOrEqual(1);
    expect(flat?.stateN?.shape).toEqual([2, 1, 128]);
    expect(flat?.stateN?.data.some((v) => v !== 0)).toBe(true);
    expect(nested).toEqual(flat);
  });

  it('passes plexus.* constraints through to the router', async () => {
    const pinned = await postJson(`${t.base}/v2/models/speech.vad/infer`, { ...vadBody(), parameters: { 'plexus.peer': 'not-a-peer' } });
    expect(pinned.status, pinned.text).toBe(412);
    expect(pinned.json?.error).toMatch(/not-a-peer/);
    const cheap = await postJson(`${t.base}/v2/models/speech.vad/infer`, { ...vadBody(), parameters: { 'plexus.max_cost': 0 } });
    expect(cheap.status, cheap.text).toBe(200);
  });

  it('refuses bad input with 400 and a message naming what is wrong', async () => {
    const cases: [unknown, RegExp][] = [
      [{ inputs: [{ name: 'input', datatype: 'FP33', shape: [1, 512], data: samples }] }, /datatype 'FP33'/],
      [{ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 600], data: samples }] }, /needs 600 elements, data has 512/],
      [{ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], data: samples.map(String) }] }, /input 'input': element 0 .* FP32 expects a number/],
      [{ inputs: [] }, /no inputs/],
      [{ inputs: rawInputs(false).slice(0, 2) }, /sr/],
      [{ inputs: [{ name: 'sr', datatype: 'INT64', shape: [1], data: [1.5] }] }, /INT64 expects an integer/],
      [{ inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [{ b64: '***' }] }] }, /base64/],
      [{ inputs: rawInputs(false), parameters: { 'plexus.prefer': 7 } }, /plexus\.prefer/],
    ];
    for (const [body, message] of cases) {
      const r = await postJson(`${t.base}/v2/models/silero-vad/infer`, body);
      expect(r.status, JSON.stringify(body).slice(0, 100)).toBe(400);
      expect(r.json?.error).toMatch(message);
    }
    const notJson = await request(`${t.base}/v2/models/silero-vad/infer`, { method: 'POST', body: '{"inputs": [' });
    expect(notJson.status).toBe(400);
    expect(notJson.json?.error).toMatch(/not valid JSON/);
    const badTimeout = await postJson(`${t.base}/v2/models/silero-vad/infer`, { inputs: rawInputs(false) }, { timeout: 'soon' });
    expect(badTimeout.status).toBe(400);
    expect(badTimeout.json?.error).toMatch(/header 'timeout'/);
  });

  it('answers 404 for an unknown model and 413 for a body over the limit', async () => {
    const unknown = await postJson(`${t.base}/v2/models/no-such-model/infer`, { inputs: rawInputs(false) });
    expect(unknown.status).toBe(404);
    expect(unknown.json?.error).toMatch(/no-such-model/);
    const huge = await request(`${t.base}/v2/models/silero-vad/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(9 * 1024 * 1024, 0x20),
    });
    expect(huge.status).toBe(413);
    expect(huge.json?.error).toMatch(/at most 8388608/);
    // The node still answers.
    expect((await postJson(`${t.base}/v2/models/silero-vad/infer`, { inputs: rawInputs(false) })).status).toBe(200);
  });

  it('answers 504 when the timeout header leaves too little time', async () => {
    const r = await postJson(`${t.base}/v2/models/speech.vad/infer`, vadBody(), { timeout: '1' });
    expect(r.status, r.text).toBe(504);
    expect(r.json?.error).toMatch(/deadline/i);
  });

  it('cancels the query when the client disconnects', async () => {
    const metrics = async (): Promise<number> => metricValue((await request(`${t.base}/metrics`)).text, 'plexus_requests_total', { api: 'http', model: 'speech.vad', code: 'CANCELLED' }) ?? 0;
    const running = async (): Promise<boolean> => /^plexus_in_flight\{[^}]*\} [1-9]/m.test((await request(`${t.base}/metrics`)).text);
    const before = await metrics();
    // 300 s of audio (~9,400 VAD windows, most of a second of compute even on a fast machine),
    // and the client goes once the node is running it: a WAV of 8 copies of one file's bytes
    // was one file's audio to the decoder, answered before a fixed 100 ms abort on a fast machine.
    const long = toneWav(300, 8000);
    const ctl = new AbortController();
    const sent = fetch(`${t.base}/v2/models/speech.vad/infer`, {
      method: 'POST', signal: ctl.signal,
      body: JSON.stringify({ inputs: [{ name: 'audio', shape: [1], datatype: 'BYTES', data: [{ b64: long.toString('base64') }] }] }),
    });
    let settled = false;
    sent.then(() => { settled = true; }, () => { settled = true; });
    const start = Date.now() + 20_000;
    while (!settled && !(await running()) && Date.now() < start) await new Promise((r) => setTimeout(r, 5));
    ctl.abort();
    await expect(sent).rejects.toThrow();
    const until = Date.now() + 20_000;
    while ((await metrics()) === before && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await metrics()).toBe(before + 1);
  });
});

describe('/metrics', () => {
  it('counts the queries above by API, model and status code', async () => {
    const r = await request(`${t.base}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const count = (labels: Record<string, string>): number | undefined => metricValue(r.text, 'plexus_requests_total', labels);
    expect(count({ api: 'http', model: 'speech.vad', code: 'OK' })).toBeGreaterThanOrEqual(2);
    expect(count({ api: 'http', model: 'silero-vad', code: 'OK' })).toBeGreaterThanOrEqual(3);
    expect(count({ api: 'http', model: 'silero-vad', code: 'INVALID_ARGUMENT' })).toBeGreaterThanOrEqual(1);
    expect(count({ api: 'http', model: 'speech.vad', code: 'FAILED_PRECONDITION' })).toBe(1);
    // Names the node does not know share one label value.
    expect(count({ api: 'http', model: '_unknown', code: 'NOT_FOUND' })).toBe(1);
    expect(r.text).not.toContain('no-such-model');
    expect(metricValue(r.text, 'plexus_request_duration_seconds_count', { api: 'http', model: 'speech.vad', code: 'OK' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(r.text, 'plexus_compute_seconds_count', { model: 'silero-vad' })).toBeGreaterThan(0);
    expect(metricValue(r.text, 'plexus_queue_wait_seconds_count', { model: 'silero-vad' })).toBeGreaterThan(0);
    expect(metricValue(r.text, 'plexus_route_choices_total', { policy: 'plexus', target: 'local' })).toBeGreaterThanOrEqual(5);
    expect(metricValue(r.text, 'plexus_queue_depth', { model: 'silero-vad' })).toBe(0);
    expect(metricValue(r.text, 'plexus_in_flight', { model: 'silero-vad-segments' })).toBe(0);
    expect(metricValue(r.text, 'plexus_peers_connected', {})).toBe(0);
  });
});
