// ModelInfer over real gRPC: the VAD capability on a real WAV, the raw silero-vad model with
// raw and typed contents, and the raw-vs-typed output selection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRawTensor } from '../../../src/inference/index.ts';
import { call, fp32, SPEECH_TRUTH, SPEECH_WAV, startTestNode, vadRequest, type TestNode } from './helpers.ts';

let t: TestNode;
beforeAll(async () => { t = await startTestNode(); });
afterAll(async () => { await t.close(); });

interface Output { name: string; datatype: string; shape: string[]; contents: Record<string, unknown[]> | null }
interface Response { model_name: string; model_version: string; id: string; outputs: Output[]; raw_output_contents: Buffer[] }

function expectSpeechSegments(flat: number[]): void {
  expect(flat.length).toBe(SPEECH_TRUTH.speech.length * 2);
  SPEECH_TRUTH.speech.flat().forEach((s, i) => expect(Math.abs((flat[i] ?? NaN) - s)).toBeLessThan(0.25));
}

describe('ModelInfer on the speech.vad capability', () => {
  it('finds the two spoken sentences (typed BYTES in, typed FP32 out)', async () => {
    const res = await call<Response>(t.inference, 'ModelInfer', vadRequest(SPEECH_WAV, { id: 'q-1' }));
    expect(res).toMatchObject({ model_name: 'silero-vad-segments', model_version: '1', id: 'q-1', raw_output_contents: [] });
    const [out] = res.outputs;
    expect(out).toMatchObject({ name: 'segments', datatype: 'FP32', shape: [String(SPEECH_TRUTH.speech.length), '2'] });
    expectSpeechSegments(out?.contents?.fp32_contents as number[]);
  });

  it('answers raw when the input came raw', async () => {
    const audio = encodeRawTensor({ name: 'audio', datatype: 'BYTES', shape: [1], data: [SPEECH_WAV] });
    const res = await call<Response>(t.inference, 'ModelInfer', {
      model_name: 'speech.vad',
      inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1] }],
      raw_input_contents: [audio],
    });
    expect(res.outputs[0]?.contents).toBeNull();
    expect(res.raw_output_contents).toHaveLength(1);
    expectSpeechSegments(fp32(res.raw_output_contents[0] ?? Buffer.alloc(0)));
  });

  it('answers raw when typed input asks for binary_data, per request or per output', async () => {
    const perRequest = await call<Response>(t.inference, 'ModelInfer', vadRequest(SPEECH_WAV, { parameters: { binary_data: { bool_param: true } } }));
    expect(perRequest.raw_output_contents).toHaveLength(1);
    const perOutput = await call<Response>(t.inference, 'ModelInfer', vadRequest(SPEECH_WAV, {
      outputs: [{ name: 'segments', parameters: { binary_data: { bool_param: true } } }],
    }));
    expect(perOutput.raw_output_contents).toHaveLength(1);
    expectSpeechSegments(fp32(perOutput.raw_output_contents[0] ?? Buffer.alloc(0)));
    const typed = await call<Response>(t.inference, 'ModelInfer', vadRequest(SPEECH_WAV, { parameters: { binary_data: { bool_param: false } } }));
    expect(typed.raw_output_contents).toHaveLength(0);
  });
});

describe('ModelInfer on the raw silero-vad model', () => {
  const samples = new Float32Array(512).map((_, i) => 0.3 * Math.sin(i / 5));
  const state = new Float32Array(2 * 1 * 128);

  it('runs with typed contents and returns typed outputs', async () => {
    const res = await call<Response>(t.inference, 'ModelInfer', {
      model_name: 'silero-vad',
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [1, 512], contents: { fp32_contents: Array.from(samples) } },
        { name: 'state', datatype: 'FP32', shape: [2, 1, 128], contents: { fp32_contents: Array.from(state) } },
        { name: 'sr', datatype: 'INT64', shape: [], contents: { int64_contents: ['16000'] } },
      ],
    });
    const byName = new Map(res.outputs.map((o) => [o.name, o]));
    const prob = byName.get('output')?.contents?.fp32_contents as number[];
    expect(prob).toHaveLength(1);
    expect(prob[0]).toBeGreaterThanOrEqual(0);
    expect(prob[0]).toBeLessThanOrEqual(1);
    expect(byName.get('stateN')?.shape).toEqual(['2', '1', '128']);
  });

  it('runs with raw contents, returns raw outputs, and honours the requested outputs', async () => {
    const sr = new BigInt64Array([16000n]);
    const res = await call<Response>(t.inference, 'ModelInfer', {
      model_name: 'silero-vad',
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [1, 512] },
        { name: 'state', datatype: 'FP32', shape: [2, 1, 128] },
        { name: 'sr', datatype: 'INT64', shape: [] },
      ],
      outputs: [{ name: 'output' }],
      raw_input_contents: [Buffer.from(samples.buffer), Buffer.from(state.buffer), Buffer.from(sr.buffer)],
    });
    expect(res.outputs.map((o) => o.name)).toEqual(['output']);
    const prob = fp32(res.raw_output_contents[0] ?? Buffer.alloc(0));
    expect(prob).toHaveLength(1);
    expect(prob[0]).toBeGreaterThanOrEqual(0);
  });
});
