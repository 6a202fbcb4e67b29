// grpc.health.v1 over real gRPC and the drain on stop(): health turns NOT_SERVING first, a
// query already running finishes and is answered, new queries are refused with UNAVAILABLE.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_SILERO_VAD, compileModelSpecs, createLocalInference } from '../../../src/inference/index.ts';
import type { LocalInference } from '../../../src/inference/types.ts';
import { silentLogger } from '../../../src/logger.ts';
import { createPlexusNode, type PlexusNode } from '../../../src/node/daemon.ts';
import { call, callError, connectAll, SPEECH_WAV, vadRequest } from './helpers.ts';

const SLOW_DELAY_MS = 1500;
const SERVICES = ['', 'inference.GRPCInferenceService', 'plexus.v1.Plexus', 'grpc.health.v1.Health'];

let inference: LocalInference;
let node: PlexusNode;
let clients: ReturnType<typeof connectAll>;

beforeAll(async () => {
  const models = compileModelSpecs([
    { name: 'silero-vad', path: BUILTIN_SILERO_VAD },
    { name: 'silero-vad-segments', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'] },
    { name: 'slow-vad', path: BUILTIN_SILERO_VAD, maxConcurrent: 2, fault: { delayMs: SLOW_DELAY_MS } },
  ], process.cwd());
  // Our own inference handle, so the test can see when the slow query really holds a run slot.
  inference = await createLocalInference({ models, logger: silentLogger() });
  node = createPlexusNode({
    grpc: { address: { host: '127.0.0.1', port: 0 }, maxMessageBytes: 64 * 1024 * 1024, maxStreamInFlight: 4 },
    dataDir: mkdtempSync(path.join(tmpdir(), 'plexus-health-test-')),
    logLevel: 'silent',
    shutdownGraceMs: 20_000,
    models,
  }, { logger: silentLogger(), inference });
  const { grpc: address } = await node.start();
  clients = connectAll(address);
});
afterAll(async () => {
  clients.close();
  await node.stop();
});

function slowRequest(id: string): Record<string, unknown> {
  return {
    id, model_name: 'slow-vad',
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [1, 512], contents: { fp32_contents: new Array<number>(512).fill(0.1) } },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], contents: { fp32_contents: new Array<number>(256).fill(0) } },
      { name: 'sr', datatype: 'INT64', shape: [], contents: { int64_contents: ['16000'] } },
    ],
  };
}

interface StreamAnswer { error_message: string; infer_response: { id: string; outputs: { name: string }[] } | null }

/** A ModelStreamInfer stream whose answers and final status are collected. */
function openStream(): { stream: grpc.ClientDuplexStream<unknown, StreamAnswer>; answers: StreamAnswer[]; ended: Promise<grpc.StatusObject> } {
  const fn = (clients.inference as unknown as Record<string, (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, StreamAnswer>>).ModelStreamInfer;
  if (!fn) throw new Error('no ModelStreamInfer');
  const stream = fn.call(clients.inference, new grpc.Metadata(), { deadline: Date.now() + 30_000 });
  const answers: StreamAnswer[] = [];
  stream.on('data', (a: StreamAnswer) => answers.push(a));
  const ended = new Promise<grpc.StatusObject>((resolve) => {
    stream.on('status', resolve);
    stream.on('error', () => { /* the status event carries it */ });
  });
  return { stream, answers, ended };
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type WatchStream = grpc.ClientReadableStream<{ status: string }>;

function watch(service: string): { stream: WatchStream; statuses: string[]; ended: Promise<grpc.StatusObject> } {
  const fn = (clients.health as unknown as Record<string, (req: unknown, md: grpc.Metadata, o: grpc.CallOptions) => WatchStream>).Watch;
  if (!fn) throw new Error('no Watch');
  const stream = fn.call(clients.health, { service }, new grpc.Metadata(), {});
  const statuses: string[] = [];
  stream.on('data', (m: { status: string }) => statuses.push(m.status));
  const ended = new Promise<grpc.StatusObject>((resolve) => {
    stream.on('status', resolve);
    stream.on('error', () => { /* the status event carries it */ });
  });
  return { stream, statuses, ended };
}

describe('grpc.health.v1.Health', () => {
  it('Check says SERVING for the server and each service while running', async () => {
    for (const service of SERVICES) expect(await call(clients.health, 'Check', { service })).toEqual({ status: 'SERVING' });
  });

  it('Watch sends the current status at once', async () => {
    const w = watch('inference.GRPCInferenceService');
    await until('the first Watch message', () => w.statuses.length > 0);
    expect(w.statuses).toEqual(['SERVING']);
    w.stream.cancel();
  });
});

describe('stop() drains', () => {
  it('goes NOT_SERVING first, finishes the running query, refuses new ones with UNAVAILABLE', async () => {
    const server = watch('');
    const service = watch('inference.GRPCInferenceService');
    await until('both watches report', () => server.statuses.length > 0 && service.statuses.length > 0);
    expect(server.statuses).toEqual(['SERVING']);

    const events: string[] = [];
    const slow = call(clients.inference, 'ModelInfer', slowRequest('slow'), 30_000)
      .then((r) => { events.push('slow query answered'); return r; });
    // A stream with a slow query of its own in flight stays open through the drain.
    const open = openStream();
    open.stream.write(slowRequest('slow-on-stream'));
    await until('both slow queries hold a run slot', () => inference.stats('slow-vad')?.inFlight === 2);

    const stopping = node.stop().then(() => { events.push('node stopped'); });
    await until('the watch sees NOT_SERVING', () => server.statuses.includes('NOT_SERVING'));
    events.push('NOT_SERVING seen');

    // Accepting no new work while draining: the refusal must not wait for the slow query.
    const refused = await callError(clients.inference, 'ModelInfer', vadRequest(SPEECH_WAV), 10_000);
    expect(refused.code).toBe(grpc.status.UNAVAILABLE);
    events.push('new query refused');
    // The open stream is still connected: the node itself refuses new work on it, in-band.
    open.stream.write(slowRequest('late-on-stream'));
    open.stream.end();

    const answer = await slow;
    expect(answer).toMatchObject({ id: 'slow', model_name: 'slow-vad' });
    expect((answer.outputs as { name: string }[]).map((o) => o.name).sort()).toEqual(['output', 'stateN']);
    await stopping;

    expect((await open.ended).code).toBe(grpc.status.OK);
    const onStream = new Map(open.answers.map((a) => [a.infer_response?.id, a]));
    expect(onStream.get('slow-on-stream')?.error_message).toBe('');
    expect(onStream.get('slow-on-stream')?.infer_response?.outputs.map((o) => o.name).sort()).toEqual(['output', 'stateN']);
    expect(onStream.get('late-on-stream')?.error_message).toMatch(/^UNAVAILABLE: .*shutting down/);

    expect(events).toEqual(['NOT_SERVING seen', 'new query refused', 'slow query answered', 'node stopped']);
    expect(service.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    // Shutdown ends watches rather than leaving them to hold the server open.
    expect((await server.ended).code).toBe(grpc.status.OK);
    expect((await service.ended).code).toBe(grpc.status.OK);
    expect(node.health.get('')).toBe('NOT_SERVING');
  });
});
