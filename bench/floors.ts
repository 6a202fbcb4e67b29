// Single round trips the throughput scenario measures once, before its rounds: sessions 14-18
// took issue 13's c=1 floors from them; the scenario's floors are now the bare servers measured
// in the same rounds as the targets (bare-servers.ts), and these rows stay beside them.
// - The worker hop alone: a round trip between this thread and a worker thread that does no
// work, with the messages a node's model worker exchanges for one raw silero-vad query (the
// request's three input tensors copied into buffers of their own and transferred, as
// worker-host.ts does with a gRPC message's tensors; an answer of two output tensors
// transferred back). The echo's round trip plus this one was the local overhead's floor; it
// leaves out the model's run on caches left cold by the idle wait.
// - A bare libp2p round trip (TCP + Noise + Yamux, the libraries' defaults, one long-lived
// stream) with the request's tensor bytes (3,336 B) each way: a hop's floor then; it leaves out
// what running grpc-js in the same process costs. Also the limits scenario's libp2p rows.
import { Worker } from 'node:worker_threads';
import { packTensor, type WorkerReply } from '../src/inference/worker/protocol.ts';
import type { Tensor } from '../src/inference/types.ts';
import { libp2pEchoCaller, libp2pNode, startLibp2pEcho } from './echo-servers.ts';
import { closedLoop, type LoadResult } from './load.ts';
import { SILERO_INPUT_SAMPLES, SILERO_REQUEST_BYTES, sileroInput } from './models/silero.ts';

interface Window { readonly durationMs: number; readonly warmupMs: number }

/** Echoes each run request with a silero-vad-sized answer, transferred (as ort-worker.ts posts one). */
const ANSWER_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  const output = new Float32Array(1);
  const stateN = new Float32Array(2 * 128);
  parentPort.postMessage({ id: m.id, ok: true, value: { ms: 0, outputs: [
    { name: 'output', datatype: 'FP32', shape: [1, 1], data: output },
    { name: 'stateN', datatype: 'FP32', shape: [2, 1, 128], data: stateN },
  ] } }, [output.buffer, stateN.buffer]);
});`;

/** The request's tensors as the node holds them: views into one received message's bytes. */
function requestTensors(): Tensor[] {
  const input = sileroInput();
  const bytes = Buffer.alloc(input.byteLength + 2 * 128 * 4 + 8);
  Buffer.from(input.buffer, input.byteOffset, input.byteLength).copy(bytes);
  const at = (offset: number, length: number): Float32Array => new Float32Array(bytes.buffer, bytes.byteOffset + offset, length);
  return [
    { name: 'input', datatype: 'FP32', shape: [1, SILERO_INPUT_SAMPLES], data: at(0, SILERO_INPUT_SAMPLES) },
    { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: at(input.byteLength, 256) },
    { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array(bytes.buffer, bytes.byteOffset + input.byteLength + 1024, 1) },
  ];
}

/** Round trips to a worker thread at concurrency 1, back to back, over `window`. */
export async function workerRoundTrips(window: Window): Promise<LoadResult> {
  const worker = new Worker(ANSWER_WORKER, { eval: true });
  const waiting = new Map<number, (r: WorkerReply) => void>();
  worker.on('message', (r: WorkerReply) => {
    const done = waiting.get(r.id);
    waiting.delete(r.id);
    done?.(r);
  });
  const feeds = requestTensors();
  let next = 1;
  try {
    return await closedLoop(async () => {
      const id = next++;
      const transfer: ArrayBuffer[] = [];
      const packed = feeds.map((t) => packTensor(t, false, transfer));
      const reply = await new Promise<WorkerReply>((resolve) => {
        waiting.set(id, resolve);
        worker.postMessage({ op: 'run', id, session: 1, model: 'silero-vad', feeds: packed, fetches: ['output', 'stateN'] }, transfer);
      });
      if (!reply.ok) throw new Error(`worker answered an error: ${reply.error.message}`);
    }, { concurrency: 1, ...window });
  } finally {
    await worker.terminate();
  }
}

/** Echo round trips of the request's tensor bytes at concurrency 1 to a libp2p echo at `addrs`, or to one in this process. */
export async function libp2pRoundTrips(window: Window, addrs?: readonly string[]): Promise<LoadResult> {
  const server = addrs === undefined ? await startLibp2pEcho() : undefined;
  const node = await libp2pNode();
  try {
    const caller = await libp2pEchoCaller(node, addrs ?? server?.addrs ?? [], new Uint8Array(SILERO_REQUEST_BYTES).fill(7));
    try {
      return await closedLoop(() => caller.call(), { concurrency: 1, ...window });
    } finally {
      await caller.close();
    }
  } finally {
    await Promise.all([node.stop(), server?.close()]);
  }
}
