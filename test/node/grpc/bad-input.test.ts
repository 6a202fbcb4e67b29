// Every kind of bad request over real gRPC gets its own status and a message that names what
// is wrong; none of them hurts the node, which still answers a good query afterwards.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_SILERO_VAD } from '../../../src/inference/index.ts';
import { call, callError, SPEECH_TRUTH, SPEECH_WAV, startTestNode, toneWav, vadRequest, type TestNode } from './helpers.ts';

// Above the speech fixture (~250 KB), so good queries fit.
const MAX_MESSAGE_BYTES = 512 * 1024;
const SLOW_DELAY_MS = 1500;

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({
    maxMessageBytes: MAX_MESSAGE_BYTES,
    models: [
      { name: 'silero-vad', path: BUILTIN_SILERO_VAD, capabilities: ['speech.vad.raw'] },
      { name: 'silero-vad-segments', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'] },
      // One run slot held for SLOW_DELAY_MS by the injected delay, one queue place: a third
      // concurrent query has nowhere to go.
      { name: 'slow-vad', path: BUILTIN_SILERO_VAD, maxConcurrent: 1, maxQueue: 1, fault: { delayMs: SLOW_DELAY_MS } },
    ],
  });
});
afterAll(async () => { await t.close(); });

const samples = Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin(i / 5));
const state = new Array<number>(2 * 128).fill(0);

interface InputOverride { name?: string; datatype?: string; shape?: number[]; contents?: Record<string, unknown[]> }

/** A valid typed silero-vad request, with `input` (the audio window) overridden. */
function rawVad(override: InputOverride = {}, model = 'silero-vad'): Record<string, unknown> {
  return {
    model_name: model,
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [1, 512], contents: { fp32_contents: samples }, ...override },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], contents: { fp32_contents: state } },
      { name: 'sr', datatype: 'INT64', shape: [], contents: { int64_contents: ['16000'] } },
    ],
  };
}

async function expectStatus(request: unknown, code: grpc.status, ...fragments: string[]): Promise<string> {
  const e = await callError(t.inference, 'ModelInfer', request);
  expect({ code: e.code, details: e.details }).toMatchObject({ code });
  for (const f of fragments) expect(e.details).toContain(f);
  return e.details;
}

describe('ModelInfer refuses bad requests with a precise status', () => {
  it('NOT_FOUND for an unknown model or capability, naming it', async () => {
    await expectStatus(rawVad({}, 'no-such-model'), grpc.status.NOT_FOUND, "'no-such-model'");
    await expectStatus(vadRequest(SPEECH_WAV, { model_name: 'speech.nothing' }), grpc.status.NOT_FOUND, "'speech.nothing'");
  });

  it('INVALID_ARGUMENT for an empty model name', async () => {
    await expectStatus(rawVad({}, ''), grpc.status.INVALID_ARGUMENT, 'model_name');
  });

  it('INVALID_ARGUMENT for an unknown input name, listing the expected ones', async () => {
    await expectStatus(rawVad({ name: 'audio' }), grpc.status.INVALID_ARGUMENT, "'audio'", "'input'", "'state'", "'sr'");
  });

  it('INVALID_ARGUMENT for a missing input, naming it and its type', async () => {
    const req = rawVad();
    (req.inputs as unknown[]).pop();
    await expectStatus(req, grpc.status.INVALID_ARGUMENT, "'sr'", 'missing', 'INT64');
  });

  it('INVALID_ARGUMENT for a wrong datatype, naming the expected one', async () => {
    await expectStatus(
      rawVad({ datatype: 'FP64', contents: { fp64_contents: samples } }),
      grpc.status.INVALID_ARGUMENT, "'input'", 'expected datatype FP32', 'FP64');
  });

  it('INVALID_ARGUMENT for a datatype KServe does not have', async () => {
    await expectStatus(rawVad({ datatype: 'FLOAT' }), grpc.status.INVALID_ARGUMENT, "'input'", "'FLOAT'", 'FP32');
  });

  it('INVALID_ARGUMENT for a wrong shape (rank), naming the expected shape', async () => {
    await expectStatus(
      rawVad({ shape: [512] }),
      grpc.status.INVALID_ARGUMENT, "'input'", 'expected shape', '[512]');
  });

  it('INVALID_ARGUMENT for a fixed dimension of the wrong size', async () => {
    const req = rawVad();
    const inputs = req.inputs as Record<string, unknown>[];
    inputs[1] = { name: 'state', datatype: 'FP32', shape: [3, 1, 128], contents: { fp32_contents: new Array<number>(3 * 128).fill(0) } };
    await expectStatus(req, grpc.status.INVALID_ARGUMENT, "'state'", 'expected shape [2,', '[3,1,128]');
  });

  it('INVALID_ARGUMENT when typed contents do not fill the shape', async () => {
    await expectStatus(
      rawVad({ contents: { fp32_contents: samples.slice(0, 500) } }),
      grpc.status.INVALID_ARGUMENT, "'input'", 'needs 512 elements', 'has 500');
  });

  it('INVALID_ARGUMENT when typed contents use the wrong field for the datatype', async () => {
    await expectStatus(
      rawVad({ contents: { int_contents: samples.map(Math.round) } }),
      grpc.status.INVALID_ARGUMENT, "'input'", 'fp32_contents', 'int_contents');
  });

  it('INVALID_ARGUMENT when raw bytes do not match datatype x shape', async () => {
    const f32 = (a: number[]): Buffer => Buffer.from(new Float32Array(a).buffer);
    const req = {
      model_name: 'silero-vad',
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [1, 512] },
        { name: 'state', datatype: 'FP32', shape: [2, 1, 128] },
        { name: 'sr', datatype: 'INT64', shape: [] },
      ],
      raw_input_contents: [f32(samples).subarray(0, 2046), f32(state), Buffer.from(new BigInt64Array([16000n]).buffer)],
    };
    await expectStatus(req, grpc.status.INVALID_ARGUMENT, "'input'", 'needs 2048 bytes', 'got 2046');
  });

  it('INVALID_ARGUMENT when raw_input_contents and inputs do not pair up', async () => {
    const req = { ...rawVad(), raw_input_contents: [Buffer.alloc(2048)] };
    await expectStatus(req, grpc.status.INVALID_ARGUMENT, 'raw_input_contents', '1 entries', '3 inputs');
  });

  it('INVALID_ARGUMENT for a speech.vad input that is not a WAV file', async () => {
    await expectStatus(vadRequest(Buffer.from('this is not audio at all, just some text bytes')), grpc.status.INVALID_ARGUMENT, 'audio');
  });

  it('INVALID_ARGUMENT for a truncated WAV (header cut short)', async () => {
    await expectStatus(vadRequest(SPEECH_WAV.subarray(0, 30)), grpc.status.INVALID_ARGUMENT, 'audio');
  });

  it('INVALID_ARGUMENT for a WAV whose data chunk is cut off, or missing', async () => {
    const wav = toneWav(0.5);
    // The header still declares the full data length; the body stops short of it.
    await expectStatus(vadRequest(wav.subarray(0, 44 + 1001)), grpc.status.INVALID_ARGUMENT, 'audio', 'truncated');
    await expectStatus(vadRequest(wav.subarray(0, 36)), grpc.status.INVALID_ARGUMENT, 'audio', "no 'data' chunk");
  });

  it('INVALID_ARGUMENT for a speech.vad input with the wrong datatype', async () => {
    await expectStatus(
      { model_name: 'speech.vad', inputs: [{ name: 'audio', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }] },
      grpc.status.INVALID_ARGUMENT, "'audio'", 'BYTES');
  });

  it('INVALID_ARGUMENT for a speech.vad input under the wrong name or with the wrong shape', async () => {
    await expectStatus(
      { model_name: 'speech.vad', inputs: [{ name: 'wav', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [SPEECH_WAV] } }] },
      grpc.status.INVALID_ARGUMENT, "'wav'", "'audio'");
    await expectStatus(
      { model_name: 'speech.vad', inputs: [{ name: 'audio', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [toneWav(0.2), toneWav(0.2)] } }] },
      grpc.status.INVALID_ARGUMENT, "'audio'", 'expected shape [1]', '[2]');
  });

  it('RESOURCE_EXHAUSTED for a message larger than maxMessageBytes, stating the limit', async () => {
    const big = vadRequest(toneWav(MAX_MESSAGE_BYTES / 2 / 16000 + 1));
    const details = await expectStatus(big, grpc.status.RESOURCE_EXHAUSTED);
    expect(details).toContain(String(MAX_MESSAGE_BYTES));
  });

  it('RESOURCE_EXHAUSTED at once when the model queue is full', async () => {
    const settled: string[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => call(t.inference, 'ModelInfer', rawVad({}, 'slow-vad')).then(
        (r) => { settled.push('ok'); return r; },
        (e: unknown) => { settled.push('refused'); throw e; },
      )),
    );
    // Refusals come at once, not after a slot frees: all three before the first answer.
    expect(settled).toEqual(['refused', 'refused', 'refused', 'ok', 'ok']);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as grpc.ServiceError] : []));
    // One runs, one waits in the queue; the other three are refused.
    expect(ok).toHaveLength(2);
    expect(refused).toHaveLength(3);
    for (const e of refused) {
      expect(e.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(e.details).toContain("'slow-vad'");
      expect(e.details).toContain('queue is full');
    }
  });
});

describe('after all of that', () => {
  it('still answers a good query correctly', async () => {
    const res = await call<{ outputs: { contents: { fp32_contents: number[] } }[] }>(t.inference, 'ModelInfer', vadRequest(SPEECH_WAV));
    const flat = res.outputs[0]?.contents.fp32_contents ?? [];
    expect(flat).toHaveLength(SPEECH_TRUTH.speech.length * 2);
    SPEECH_TRUTH.speech.flat().forEach((s, i) => expect(Math.abs((flat[i] ?? NaN) - s)).toBeLessThan(0.25));
    expect(await call(t.health, 'Check', { service: '' })).toEqual({ status: 'SERVING' });
  });
});
