// Deadlines, cancellation and injected faults over real gRPC: each gets its status, and a query
// that ends early gives its run slot back rather than holding it for the rest of its delay.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_SILERO_VAD } from '../../../src/inference/index.ts';
import { call, callError, SPEECH_WAV, startTestNode, vadRequest, type TestNode } from './helpers.ts';

// Far longer than any wait below: a slot seen free again was freed early, not by the delay ending.
const SLOW_DELAY_MS = 20_000;

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({
    models: [
      // `gate` is fast; `gated-slow` runs on gate's single slot and holds it for SLOW_DELAY_MS.
      { name: 'gate', path: BUILTIN_SILERO_VAD, maxConcurrent: 1, maxQueue: 1 },
      { name: 'gated-slow', adapter: { type: 'silero-vad', model: 'gate' }, fault: { delayMs: SLOW_DELAY_MS } },
      { name: 'silero-vad', path: BUILTIN_SILERO_VAD },
      { name: 'always-failing', adapter: { type: 'silero-vad', model: 'silero-vad' }, fault: { errorRate: 1 } },
    ],
  });
});
afterAll(async () => { await t.close(); });

const gateRequest = {
  model_name: 'gate',
  inputs: [
    { name: 'input', datatype: 'FP32', shape: [1, 512], contents: { fp32_contents: new Array<number>(512).fill(0) } },
    { name: 'state', datatype: 'FP32', shape: [2, 1, 128], contents: { fp32_contents: new Array<number>(256).fill(0) } },
    { name: 'sr', datatype: 'INT64', shape: [], contents: { int64_contents: ['16000'] } },
  ],
};

/** Runs on gate with a short deadline: true when it ran (slot free), false when it only waited in the queue. */
async function gateFree(): Promise<boolean> {
  try {
    await call(t.inference, 'ModelInfer', gateRequest, 1000);
    return true;
  } catch (e) {
    if ((e as grpc.ServiceError).code === grpc.status.DEADLINE_EXCEEDED) return false;
    throw e;
  }
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
  }
}

describe('deadlines and cancellation', () => {
  it('DEADLINE_EXCEEDED when the deadline passes during the run; the slot is free again', async () => {
    expect(await gateFree()).toBe(true);
    const e = await callError(t.inference, 'ModelInfer', vadRequest(SPEECH_WAV, { model_name: 'gated-slow' }), 500);
    expect(e.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await until('gate runs again', gateFree);
  });

  it('a cancelled call gives its slot back', async () => {
    const fn = (t.inference as unknown as Record<string, (r: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall>).ModelInfer;
    let status: grpc.status | undefined;
    const slow = fn?.call(t.inference, vadRequest(SPEECH_WAV, { model_name: 'gated-slow' }), new grpc.Metadata(), { deadline: Date.now() + 60_000 }, (err) => {
      status = err?.code ?? grpc.status.OK;
    });
    await until('the slow query holds gate\'s slot', async () => !(await gateFree()));
    slow?.cancel();
    await until('gate runs again', gateFree);
    expect(status).toBe(grpc.status.CANCELLED);
  });
});

describe('injected faults', () => {
  it('UNAVAILABLE naming the injected fault; the model is otherwise fine', async () => {
    const e = await callError(t.inference, 'ModelInfer', vadRequest(SPEECH_WAV, { model_name: 'always-failing' }));
    expect(e.code).toBe(grpc.status.UNAVAILABLE);
    expect(e.details).toContain("injected fault for model 'always-failing'");
    await call(t.inference, 'ModelInfer', { ...gateRequest, model_name: 'silero-vad' });
  });
});
