// Issue 10, rows 1 and 2: one hostile request must not make a node hold many times its size.
// A real daemon in a child process (its peak RSS read from /proc after a reset) gets the
// messages that took a node to 3.7 GB (gRPC, 8M empty BYTES in 16 MB), 916 MB (8 MB of INT64
// zeros) and 4.5 GB (REST, 4M empty strings in 12 MB), and must refuse each naming the limit,
// with peak RSS growth under a small multiple of the message size, and answer health at once.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connectAll } from './grpc/helpers.ts';
import {
  emptyBytesContents, inferMessage, int64ZerosContents, memory, rawModelInfer, rawStreamInfer, rawUnary, resetPeak, startChildDaemon, type ChildDaemon,
} from './limits-helpers.ts';

const MB = 1024 * 1024;
/** Peak RSS growth allowed, as a multiple of the message: the message itself, grpc-js's frames and copy, the walk. */
const MAX_GROWTH = 4;

let d: ChildDaemon;

/** Runs `send` with the peak RSS reset first; returns the peak growth over the RSS before, in bytes. */
async function peakGrowth(send: () => Promise<void>): Promise<number> {
  resetPeak(d.pid);
  const before = memory(d.pid).rss;
  await send();
  return memory(d.pid).peak - before;
}

/** POSTs `body` to the daemon's REST infer endpoint: its answer, and the peak RSS growth it caused. */
async function restInferGrowth(body: Buffer): Promise<{ status: number; text: string; growth: number }> {
  let status = 0;
  let text = '';
  const growth = await peakGrowth(async () => {
    const res = await fetch(`http://${d.http}/v2/models/nobody-serves-this/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(30_000),
    });
    status = res.status;
    text = await res.text();
  });
  console.log(`peak RSS growth ${(growth / MB).toFixed(1)} MB for a ${(body.length / MB).toFixed(1)} MB body`);
  return { status, text, growth };
}

async function liveWithin(ms: number): Promise<number> {
  const clients = connectAll(d.grpc);
  try {
    const started = performance.now();
    await call(clients.inference, 'ServerLive', {}, ms);
    return performance.now() - started;
  } finally {
    clients.close();
  }
}

describe('a hostile message cannot amplify on a real daemon', () => {
  beforeAll(async () => {
    // A 1.5 GB heap keeps the machine safe: the old decoder crashes on it instead of taking 3.7 GB.
    d = await startChildDaemon({}, ['--max-old-space-size=1536']);
    await liveWithin(5000); // warm up the gRPC server before measuring
  });
  afterAll(async () => { await d.stop(); });

  it('gRPC: 8M empty BYTES elements in 16 MB are refused before they are decoded', async () => {
    const message = inferMessage('nobody-serves-this', 'BYTES', 8 * MB, emptyBytesContents(8 * MB));
    let reply = { code: grpc.status.OK, details: '' };
    const growth = await peakGrowth(async () => { reply = await rawModelInfer(d.grpc, message); });
    console.log(`peak RSS growth ${(growth / MB).toFixed(1)} MB for a ${(message.length / MB).toFixed(1)} MB message`);
    expect(reply.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(reply.details).toMatch(/input 'x' brings the request to more than 65536 BYTES elements; at most 65536 are allowed per request \(limits\.maxBytesElements\)/);
    expect(growth).toBeLessThan(MAX_GROWTH * message.length);
    expect(await liveWithin(1000)).toBeLessThan(1000);
  }, 30_000);

  it('gRPC: 8 MB of INT64 zeros (8M elements) are refused before an array is allocated', async () => {
    const message = inferMessage('nobody-serves-this', 'INT64', 8 * MB, int64ZerosContents(8 * MB));
    let reply = { code: grpc.status.OK, details: '' };
    const growth = await peakGrowth(async () => { reply = await rawModelInfer(d.grpc, message); });
    console.log(`peak RSS growth ${(growth / MB).toFixed(1)} MB for a ${(message.length / MB).toFixed(1)} MB message`);
    expect(reply.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(reply.details).toMatch(/input 'x': contents has more than 4194304 elements; at most 4194304 are allowed per tensor \(limits\.maxTypedElements/);
    expect(growth).toBeLessThan(MAX_GROWTH * message.length);
    expect(await liveWithin(1000)).toBeLessThan(1000);
  }, 30_000);

  it('gRPC stream: the same flood fails in-band and the stream stays usable', async () => {
    const message = inferMessage('nobody-serves-this', 'BYTES', MB, emptyBytesContents(MB));
    expect(await rawStreamInfer(d.grpc, message)).toMatch(/^INVALID_ARGUMENT: .*more than 65536 BYTES elements; at most 65536/);
  }, 30_000);

  it('gRPC repository: 4M empty parameter map entries in 8 MB are counted, not decoded', async () => {
    const message = Buffer.concat([Buffer.from([0x12, 0x01, 0x78]), Buffer.from(new Uint8Array(8 * MB).map((_, i) => (i % 2 === 0 ? 0x1a : 0)))]);
    let reply = { code: grpc.status.OK, details: '' };
    const growth = await peakGrowth(async () => { reply = await rawUnary(d.grpc, 'RepositoryModelUnload', message); });
    console.log(`peak RSS growth ${(growth / MB).toFixed(1)} MB for a ${(message.length / MB).toFixed(1)} MB message`);
    expect(reply.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(reply.details).toBe('RepositoryModelUnload has 4194304 parameters; at most 64 are allowed');
    expect(growth).toBeLessThan(MAX_GROWTH * message.length);
    expect(await liveWithin(1000)).toBeLessThan(1000);
  }, 30_000);

  it('REST: 4M empty strings in a 12 MB body are refused before they are converted', async () => {
    const body = Buffer.from(`{"inputs":[{"name":"x","datatype":"BYTES","shape":[${4 * MB}],"data":[${'"",'.repeat(4 * MB - 1)}""]}]}`);
    const { status, text, growth } = await restInferGrowth(body);
    expect(status).toBe(400);
    expect(text).toMatch(/4194304 BYTES elements; at most 65536 are allowed per request \(limits\.maxBytesElements\)/);
    // JSON.parse itself holds the body, its text and a 4M-element array (~10x here; 4.5 GB before).
    expect(growth).toBeLessThan(16 * body.length);
    expect(await liveWithin(1000)).toBeLessThan(1000);
  }, 30_000);

  it('REST: 10M empty strings in a 30 MB body are refused before JSON.parse', async () => {
    const body = Buffer.from(`{"inputs":[{"name":"x","datatype":"BYTES","shape":[${10 * MB}],"data":[${'"",'.repeat(10 * MB - 1)}""]}]}`);
    const { status, text, growth } = await restInferGrowth(body);
    expect(status).toBe(400);
    expect(text).toMatch(/request body holds more than 4263936 JSON values; at most 4263936 are accepted per REST request \(limits\.maxTypedElements \+ limits\.maxBytesElements \+ 4096\)/);
    expect(growth).toBeLessThan(MAX_GROWTH * body.length);
    expect(await liveWithin(1000)).toBeLessThan(1000);
  }, 30_000);
});
