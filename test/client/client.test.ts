// PlexusClient against a real in-process node (real gRPC, real libp2p, real ONNX): results as
// typed arrays, route info, constraints passed through, errors typed with the node's status.
// Imported through the package's own export (`plexus/client`), as a consumer would.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlexusClient, PlexusClientError, isPlexusClientError } from 'plexus/client';
import { removeTempDirs, type ClusterNode } from '../cluster/helpers.ts';
import { FIXTURES, SPEECH_TRUTH, SPEECH_WAV } from '../node/grpc/helpers.ts';
import { SPEECH_PRICE, rawVadInputs, startClientTestNode } from './helpers.ts';

let node: ClusterNode;
let client: PlexusClient;

beforeAll(async () => {
  node = await startClientTestNode();
  client = new PlexusClient(node.grpc, { timeoutMs: 20_000 });
});

afterAll(async () => {
  client.close();
  await node.close();
  removeTempDirs();
});

/** The error a promise rejects with; fails the test when it resolves. */
async function rejection(p: Promise<unknown>): Promise<PlexusClientError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PlexusClientError);
    return e as PlexusClientError;
  }
  throw new Error('expected the call to fail');
}

describe('infer', () => {
  it('detectSpeech finds the fixture speech and reports the route', async () => {
    const { segments, result } = await client.detectSpeech(SPEECH_WAV);
    expect(segments).toHaveLength(SPEECH_TRUTH.speech.length);
    segments.forEach((s, i) => {
      const [start, end] = SPEECH_TRUTH.speech[i] ?? [NaN, NaN];
      expect(Math.abs(s.start - start)).toBeLessThan(0.1);
      expect(Math.abs(s.end - end)).toBeLessThan(0.15);
    });
    expect(result.model).toBe('silero-vad-segments');
    expect(result.output('segments').data).toBeInstanceOf(Float32Array);
    expect(result.output('segments').shape).toEqual([segments.length, 2]);
    expect(result.route).toBeDefined();
    expect(result.route?.servedBy).toBe(node.peerId);
    expect(result.route?.route).toEqual([node.peerId]);
    expect(result.route?.cost).toBe(SPEECH_PRICE);
    expect(result.route?.hopMs).toHaveLength(1);
    expect(result.route?.hopMs[0]).toBeGreaterThan(0);
    expect(result.parameters['plexus.served_by']).toBe(node.peerId);
  });

  it('inferFile finds the BYTES input from the metadata and answers like detectSpeech', async () => {
    const wav = readFileSync(path.join(FIXTURES, 'speech-8k-mono.wav'));
    const [a, b] = await Promise.all([client.inferFile('speech.vad', wav), client.detectSpeech(wav)]);
    expect(Array.from(a.output('segments').data as Float32Array)).toEqual(b.segments.flatMap((s) => [s.start, s.end]));
    const silence = await client.detectSpeech(readFileSync(path.join(FIXTURES, 'silence-16k.wav')));
    expect(silence.segments).toEqual([]);
  });

  it('inferFile refuses a model whose first input is not BYTES', async () => {
    const e = await rejection(client.inferFile('speech.vad.raw', SPEECH_WAV));
    expect(e.codeName).toBe('FAILED_PRECONDITION');
    expect(e.details).toMatch(/FP32 input 'input'/);
  });

  it('raw silero-vad tensors go out raw and come back as typed arrays; plain arrays give the same answer', async () => {
    const typed = await client.infer({ model: 'silero-vad', inputs: rawVadInputs() });
    const prob = typed.output('output');
    expect(prob.datatype).toBe('FP32');
    expect(prob.shape).toEqual([1, 1]);
    expect(prob.data).toBeInstanceOf(Float32Array);
    const p = (prob.data as Float32Array)[0] ?? NaN;
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(1);
    expect(typed.output('stateN').shape).toEqual([2, 1, 128]);

    const plain = await client.infer({
      model: 'speech.vad.raw',
      inputs: rawVadInputs().map((t) => ({ ...t, data: Array.from(t.data as ArrayLike<number | bigint>) as number[] | bigint[] })),
      outputs: ['output'],
      id: 'plain-1',
    });
    expect(plain.id).toBe('plain-1');
    expect(plain.outputs.map((o) => o.name)).toEqual(['output']);
    expect(Array.from(plain.output('output').data as Float32Array)).toEqual(Array.from(prob.data as Float32Array));
    expect(() => plain.output('stateN')).toThrow(/no output 'stateN'/);
  });
});

describe('constraints are passed to the node as plexus.* parameters', () => {
  it('maxCost at or above the price is served; below it has no feasible route', async () => {
    const ok = await client.detectSpeech(SPEECH_WAV, { constraints: { maxCost: SPEECH_PRICE, prefer: 'cost', maxHops: 0, provider: 'cpu', deadlineMs: 10_000 } });
    expect(ok.result.route?.cost).toBe(SPEECH_PRICE);
    const e = await rejection(client.detectSpeech(SPEECH_WAV, { constraints: { maxCost: SPEECH_PRICE - 1 } }));
    expect(e.code).toBe(9);
    expect(e.codeName).toBe('FAILED_PRECONDITION');
    expect(e.kind).toBe('failed_precondition');
  });

  it('invalid values are rejected by the node with INVALID_ARGUMENT naming the parameter', async () => {
    const cost = await rejection(client.detectSpeech(SPEECH_WAV, { constraints: { maxCost: -1 } }));
    expect(cost.code).toBe(3);
    expect(cost.kind).toBe('invalid_argument');
    expect(cost.details).toMatch(/plexus\.max_cost/);
    const hops = await rejection(client.detectSpeech(SPEECH_WAV, { constraints: { maxHops: 1.5 } }));
    expect(hops.details).toMatch(/plexus\.max_hops/);
    const prefer = await rejection(client.infer({
      model: 'speech.vad.raw', inputs: rawVadInputs(), constraints: { prefer: 'fastest' as 'latency' },
    }));
    expect(prefer.details).toMatch(/plexus\.prefer/);
  });

  it('a pinned peer that provides nothing fails; the node itself serves', async () => {
    const other = await rejection(client.detectSpeech(SPEECH_WAV, { constraints: { peer: '12D3KooWNotAPeerInThisCluster' } }));
    expect(other.codeName).toBe('FAILED_PRECONDITION');
    const self = await client.detectSpeech(SPEECH_WAV, { constraints: { peer: node.peerId } });
    expect(self.result.route?.servedBy).toBe(node.peerId);
  });
});

describe('errors are PlexusClientErrors with the gRPC status', () => {
  it('unknown model: NOT_FOUND', async () => {
    const e = await rejection(client.infer({ model: 'no-such-model', inputs: rawVadInputs() }));
    expect(isPlexusClientError(e, 'not_found')).toBe(true);
    expect(e.code).toBe(5);
    expect(e.codeName).toBe('NOT_FOUND');
    expect(e.message).toMatch(/^NOT_FOUND: .*no-such-model/);
  });

  it('wrong shape and a WAV that is not one: INVALID_ARGUMENT naming the input', async () => {
    const [input, state, sr] = rawVadInputs();
    if (!input || !state || !sr) throw new Error('fixture');
    const shape = await rejection(client.infer({ model: 'silero-vad', inputs: [{ ...input, shape: [1, 511] }, state, sr] }));
    expect(shape.kind).toBe('invalid_argument');
    expect(shape.details).toMatch(/'input'/);
    const wav = await rejection(client.detectSpeech(new TextEncoder().encode('this is not a wav file')));
    expect(wav.codeName).toBe('INVALID_ARGUMENT');
    const dtype = await rejection(client.infer({ model: 'silero-vad', inputs: [{ ...input, datatype: 'FP9' as 'FP32' }, state, sr] }));
    expect(dtype.details).toMatch(/unknown datatype 'FP9'/);
  });

  it('the deadline: DEADLINE_EXCEEDED; an aborted signal: CANCELLED', async () => {
    const late = await rejection(client.infer({ model: 'speech.vad.slow', inputs: rawVadInputs(), timeoutMs: 100 }));
    expect(late.codeName).toBe('DEADLINE_EXCEEDED');
    const aborted = await rejection(client.infer({ model: 'speech.vad.slow', inputs: rawVadInputs(), signal: AbortSignal.timeout(50) }));
    expect(aborted.codeName).toBe('CANCELLED');
    const already = await rejection(client.node({ signal: AbortSignal.abort() }));
    expect(already.kind).toBe('cancelled');
    // The client still works after cancelled calls.
    expect((await client.infer({ model: 'speech.vad.slow', inputs: rawVadInputs() })).model).toBe('slow-vad');
  });

  it('no node at the target: UNAVAILABLE; a bad target is refused at once', async () => {
    const nobody = new PlexusClient('127.0.0.1:1', { timeoutMs: 5000 });
    try {
      const e = await rejection(nobody.node());
      expect(['UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(e.codeName);
    } finally {
      nobody.close();
    }
    expect(() => new PlexusClient('localhost')).toThrow(/HOST:PORT/);
    expect(() => new PlexusClient('127.0.0.1:8001', { timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

describe('node API', () => {
  it('node(), listCapabilities(), routes(), peers(), modelMetadata()', async () => {
    const info = await client.node();
    expect(info.peerId).toBe(node.peerId);
    expect(info.grpcAddress).toBe(node.grpc);
    expect(info.capabilities).toEqual(['speech.vad', 'speech.vad.raw', 'speech.vad.slow']);
    expect(info.models.find((m) => m.name === 'silero-vad-segments')?.price).toBe(SPEECH_PRICE);
    expect(info.models.find((m) => m.name === 'silero-vad')?.inputs.map((t) => t.name)).toEqual(['input', 'state', 'sr']);

    const caps = await client.listCapabilities();
    const vad = caps.find((c) => c.name === 'speech.vad');
    expect(vad?.providers).toEqual([expect.objectContaining({ peerId: node.peerId, model: 'silero-vad-segments', local: true, hops: 0, price: SPEECH_PRICE })]);
    expect((await client.listCapabilities({ capability: 'speech.vad.slow' })).map((c) => c.name)).toEqual(['speech.vad.slow']);

    const routes = await client.routes('speech.vad');
    expect(routes.map((r) => [r.model, r.origin, r.local, r.hops])).toEqual([['silero-vad-segments', node.peerId, true, 0]]);
    expect(await client.peers()).toEqual([]);

    const meta = await client.modelMetadata('speech.vad');
    expect(meta.inputs).toEqual([{ name: 'audio', datatype: 'BYTES', shape: [1] }]);
    const missing = await rejection(client.modelMetadata('nothing-here'));
    expect(missing.codeName).toBe('NOT_FOUND');
  });
});
