// The per-request budget for inputs (limits.maxRequestInputBytes), beside the node-wide one: a
// request whose inputs hold more is refused at once with RESOURCE_EXHAUSTED (REST: 429) naming
// the key, before it is dispatched, and the node goes on serving requests within it. Real node,
// real gRPC and HTTP on loopback.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_SILERO_VAD, compileModelSpecs } from '../../src/inference/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { createPlexusNode, type PlexusNode } from '../../src/node/daemon.ts';
import { DEFAULT_LIMITS } from '../../src/node/options.ts';
import { call, callError, connectAll } from './grpc/helpers.ts';
import { postJson } from './http/helpers.ts';

const DELAY_MS = 1500;
const MAX_REQUEST = 4096;
let node: PlexusNode;
let clients: ReturnType<typeof connectAll>;
let base: string;

beforeAll(async () => {
  node = createPlexusNode({
    grpc: { address: { host: '127.0.0.1', port: 0 }, maxMessageBytes: 8 * 1024 * 1024, maxStreamInFlight: 4 },
    http: { address: { host: '127.0.0.1', port: 0 } },
    dataDir: mkdtempSync(path.join(tmpdir(), 'plexus-request-budget-')),
    logLevel: 'silent',
    shutdownGraceMs: 2000,
    models: compileModelSpecs([{ name: 'slow-vad', path: BUILTIN_SILERO_VAD, maxConcurrent: 4, fault: { delayMs: DELAY_MS } }], process.cwd()),
    // The node could hold 256 such requests; one request may hold 4 KiB (a 512-sample query's 3080 bytes fit).
    limits: { ...DEFAULT_LIMITS, maxInflightInputBytes: 1024 * 1024, maxRequestInputBytes: MAX_REQUEST },
  }, { logger: silentLogger() });
  const started = await node.start();
  clients = connectAll(started.grpc);
  base = `http://${started.http ?? ''}`;
});
afterAll(async () => {
  clients.close();
  await node.stop();
});

/** A silero-vad query with `samples` input samples: 4 * samples + 1032 bytes of inputs. */
const grpcQuery = (samples: number): Record<string, unknown> => ({
  model_name: 'slow-vad',
  inputs: [
    { name: 'input', datatype: 'FP32', shape: [1, samples], contents: { fp32_contents: new Array<number>(samples).fill(0) } },
    { name: 'state', datatype: 'FP32', shape: [2, 1, 128], contents: { fp32_contents: new Array<number>(256).fill(0) } },
    { name: 'sr', datatype: 'INT64', shape: [], contents: { int64_contents: ['16000'] } },
  ],
});
const restQuery = (samples: number): Record<string, unknown> => ({
  inputs: [
    { name: 'input', datatype: 'FP32', shape: [1, samples], data: new Array<number>(samples).fill(0) },
    { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array<number>(256).fill(0) },
    { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
  ],
});

const OVER = /the request's inputs hold 9224 bytes; at most 4096 are allowed per request \(limits\.maxRequestInputBytes\)/;

describe('per-request input budget', () => {
  it('gRPC: a request over it is RESOURCE_EXHAUSTED at once; one within it is answered', async () => {
    const started = performance.now();
    const e = await callError(clients.inference, 'ModelInfer', grpcQuery(2048));
    const refusedMs = performance.now() - started;
    expect(e.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(e.details).toMatch(OVER);
    expect(refusedMs, 'refused before it reached the model (its injected delay is 1.5 s)').toBeLessThan(DELAY_MS / 2);
    const ok = await call<{ model_name: string }>(clients.inference, 'ModelInfer', grpcQuery(512));
    expect(ok.model_name).toBe('slow-vad');
  }, 20_000);

  it('REST: a request over it is 429 at once naming the key; one within it is answered', async () => {
    const started = performance.now();
    const over = await postJson(`${base}/v2/models/slow-vad/infer`, restQuery(2048));
    expect(over.status).toBe(429);
    expect(String(over.json?.error)).toMatch(OVER);
    expect(performance.now() - started).toBeLessThan(DELAY_MS / 2);
    const ok = await postJson(`${base}/v2/models/slow-vad/infer`, restQuery(512));
    expect(ok.status).toBe(200);
  }, 20_000);
});
