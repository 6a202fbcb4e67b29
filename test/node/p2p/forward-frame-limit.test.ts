// The forward protocol's one frame limit on real libp2p hosts (loopback): a request or an answer
// whose frame would pass it fails only its own query with RESOURCE_EXHAUSTED; the stream it
// would have broken goes on carrying the other queries.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageTooLargeError, RemoteError } from '../../../src/errors.ts';
import type { Tensor } from '../../../src/inference/types.ts';
import { silentLogger } from '../../../src/logger.ts';
import { forwardFrameBytes } from '../../../src/node/node-defaults.ts';
import type { ForwardRequest } from '../../../src/node/p2p/forward-codec.ts';
import { createForwardProtocol, type ForwardProtocol } from '../../../src/node/p2p/forward-protocol.ts';
import { createHost, type P2PHost } from '../../../src/node/p2p/host.ts';

const LIMIT = 64 * 1024;
const tensor = (bytes: number): Tensor => ({ name: 'x', datatype: 'UINT8', shape: [bytes], data: new Uint8Array(bytes) });
const request = (id: string, bytes: number): ForwardRequest => ({
  queryId: id, ttl: 4, remainingMs: 5000, route: [], origin: '', model: 'echo', outputs: [], parameters: {}, inputs: [tensor(bytes)],
});

let a: P2PHost;
let b: P2PHost;
let fa: ForwardProtocol;
let fb: ForwardProtocol;

beforeAll(async () => {
  b = await createHost({ privateKey: await generateKeyPair('Ed25519'), logger: silentLogger() });
  await b.start();
  const addr = (b.multiaddrs()[0] ?? '').replace(/\/p2p\/.*$/, '');
  a = await createHost({ privateKey: await generateKeyPair('Ed25519'), bootstrap: [addr], logger: silentLogger() });
  await a.start();
  fa = createForwardProtocol({ host: a, logger: silentLogger(), maxFrameBytes: LIMIT });
  fb = createForwardProtocol({ host: b, logger: silentLogger(), maxFrameBytes: LIMIT });
  // b answers with outputs of the size the query's parameter asks for.
  fb.onQuery((req) => Promise.resolve({
    model: req.model, version: '1', id: req.queryId, parameters: {}, hops: [],
    outputs: [tensor(Number(req.parameters.answer ?? 1))],
  }));
  await Promise.all([fa.start(), fb.start()]);
  const until = Date.now() + 5000;
  while (!a.connectedPeers().includes(b.peerId) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
});
afterAll(async () => {
  await Promise.all([fa.stop(), fb.stop()]);
  await Promise.all([a.stop(), b.stop()]);
});

describe('forward frame limit', () => {
  it('is derived from the message limit, with room for the header', () => {
    expect(forwardFrameBytes(64 * 1024 * 1024)).toBe(65 * 1024 * 1024);
    expect(forwardFrameBytes(2 ** 31 - 1)).toBeGreaterThan(2 ** 31 - 1);
  });

  it('a request over the limit fails alone; the stream carries the next query', async () => {
    expect((await fa.send(b.peerId, request('small-1', 100))).outputs[0]?.shape).toEqual([1]);
    await expect(fa.send(b.peerId, request('big', LIMIT))).rejects.toBeInstanceOf(MessageTooLargeError);
    expect((await fa.send(b.peerId, request('small-2', 100))).id).toBe('small-2');
  });

  it('an answer over the limit comes back RESOURCE_EXHAUSTED; the stream carries the next query', async () => {
    const big = { ...request('big-answer', 10), parameters: { answer: LIMIT } };
    const err: unknown = await fa.send(b.peerId, big).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).kind).toBe('resource_exhausted');
    expect((await fa.send(b.peerId, request('small-3', 100))).id).toBe('small-3');
  });
});
