// The node-wide budget for inputs of accepted, unanswered requests (limits.maxInflightInputBytes):
// past it a request is refused with RESOURCE_EXHAUSTED at once, and the budget comes back when
// the holder is answered. Real daemon, real gRPC.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_SILERO_VAD } from '../../../src/inference/index.ts';
import { call, callError, startTestNode, type TestNode } from './helpers.ts';

const DELAY_MS = 1500;
let t: TestNode;

beforeAll(async () => {
  t = await startTestNode({
    models: [{ name: 'slow-vad', path: BUILTIN_SILERO_VAD, maxConcurrent: 4, fault: { delayMs: DELAY_MS } }],
    // One query's inputs (2048 + 1024 + 8 bytes) fit; two do not.
    limits: { maxInflightInputBytes: 4096 },
  });
});
afterAll(async () => { await t.close(); });

const query = {
  model_name: 'slow-vad',
  inputs: [
    { name: 'input', datatype: 'FP32', shape: [1, 512], contents: { fp32_contents: new Array<number>(512).fill(0) } },
    { name: 'state', datatype: 'FP32', shape: [2, 1, 128], contents: { fp32_contents: new Array<number>(256).fill(0) } },
    { name: 'sr', datatype: 'INT64', shape: [], contents: { int64_contents: ['16000'] } },
  ],
};

describe('in-flight input budget', () => {
  it('refuses a request past the budget at once, and takes requests again once the holder is answered', async () => {
    const first = call(t.inference, 'ModelInfer', query);
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    const e = await callError(t.inference, 'ModelInfer', query);
    const refusedMs = performance.now() - started;
    expect(e.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(e.details).toMatch(/holds 3080 bytes of inputs of unanswered requests; 3080 more would pass its budget of 4096 \(limits\.maxInflightInputBytes\)/);
    expect(refusedMs).toBeLessThan(DELAY_MS / 2);
    await first;
    await call(t.inference, 'ModelInfer', query);
  }, 20_000);
});
