// Bare servers for the floors of issue 13's c=1 targets, each answering the throughput
// scenario's raw request over the same grpc-js `Echo` method as the bare echo, with none of
// Plexus's own work, so what each adds over the echo in the same round is what the design
// costs before any Plexus code runs:
// - a model server: each request handed to a worker thread that runs silero-vad with ONNX
//   Runtime on fixed feeds (bare-model-worker.ts) and answered with the model's outputs. Its
//   p50 less in-process ORT's is the least a local query's overhead can be with models off the
//   event loop: the echo's gRPC round trip, a worker round trip, and the model run on caches
//   left cold by the wait.
//   `inline`: the same server with the model run on its event loop (as a node with
//   `inference.workers: 0`), the floor if the first goal, models off the event loop,
//   were dropped.
// - a relay: each request sent over libp2p, as a Plexus node's host builds it (echo-servers.ts,
//   'node'), to a libp2p echo in another process, and answered with what comes back. Its p50
//   less the echo's is the least a hop can be: a libp2p round trip, run by a process that also
//   runs grpc-js.
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { Libp2p } from 'libp2p';
import type { Connection } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { SILERO_SESSION_OPTIONS, sileroAnswerBytes, sileroFeeds, sileroModelPath } from './models/silero.ts';
import { echoClient, ECHO_PROTOCOL, libp2pNode, MAX_ECHO_STREAMS, startGrpcEcho, type Closable } from './echo-servers.ts';

interface ModelReply { readonly id: number; readonly answer?: ArrayBuffer; readonly error?: string }
type Answer = (r: ModelReply) => void;

/** Runs in a worker thread (bare-model-worker.ts): each request's bytes copied out of gRPC's buffer and transferred, as a node's tensors are. */
async function workerRunner(): Promise<{ run(request: Buffer, done: Answer): void; close(): Promise<unknown> }> {
  const worker = new Worker(new URL('./bare-model-worker.ts', import.meta.url));
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  const waiting = new Map<number, Answer>();
  worker.on('message', (r: ModelReply) => {
    const done = waiting.get(r.id);
    waiting.delete(r.id);
    done?.(r);
  });
  let next = 1;
  return {
    run: (request, done) => {
      const id = next++;
      const bytes = new Uint8Array(request.byteLength);
      bytes.set(request);
      waiting.set(id, done);
      worker.postMessage({ id, request: bytes.buffer }, [bytes.buffer]);
    },
    close: () => worker.terminate(),
  };
}

/** Runs on the event loop, as a node with `inference.workers: 0` does (which issue 13's first goal rules out). */
async function inlineRunner(): Promise<{ run(request: Buffer, done: Answer): void; close(): Promise<unknown> }> {
  const session = await ort.InferenceSession.create(sileroModelPath(), SILERO_SESSION_OPTIONS);
  const feeds = sileroFeeds();
  return {
    run: (_request, done) => {
      session.run(feeds).then((out) => { done({ id: 0, answer: sileroAnswerBytes(out).buffer }); }, (e: unknown) => { done({ id: 0, error: String(e) }); });
    },
    close: () => session.release(),
  };
}

/** A grpc-js server whose each call is one silero-vad run, in a worker thread or (`inline`) on its event loop. */
export async function startBareModelServer(where: 'worker' | 'inline'): Promise<Closable & { readonly address: string }> {
  const runner = where === 'worker' ? await workerRunner() : await inlineRunner();
  const server = await startGrpcEcho((call, cb) => {
    runner.run(call.request, (r) => {
      if (r.answer === undefined) cb({ code: 13, details: r.error ?? 'no answer' });
      else cb(null, Buffer.from(r.answer));
    });
  });
  return {
    address: server.address,
    close: async () => { await server.close(); await runner.close(); },
  };
}

type Send = (payload: Uint8Array) => Promise<void>;

/** Idle streams to the echo on one connection (each as its echoClient); a call takes one or opens one. */
class StreamPool {
  readonly #idle: Send[] = [];
  readonly #connection: Connection;
  constructor(connection: Connection) { this.#connection = connection; }

  async call(payload: Uint8Array): Promise<void> {
    const send = this.#idle.pop() ?? echoClient(await this.#connection.newStream(ECHO_PROTOCOL, { maxOutboundStreams: MAX_ECHO_STREAMS }));
    await send(payload);
    this.#idle.push(send);
  }
}

/** A grpc-js server whose each call is a round trip of its request over libp2p to the echo at `addrs`. */
export async function startBareRelay(addrs: readonly string[]): Promise<Closable & { readonly address: string }> {
  const node: Libp2p = await libp2pNode('node');
  try {
    const pool = new StreamPool(await node.dial(addrs.map((a) => multiaddr(a))));
    const server = await startGrpcEcho((call, cb) => {
      pool.call(call.request).then(() => cb(null, call.request), (e: unknown) => cb({ code: 14, details: String(e) }));
    });
    return { address: server.address, close: async () => { await server.close(); await node.stop(); } };
  } catch (e) {
    await node.stop();
    throw e;
  }
}
