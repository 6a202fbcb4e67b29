// PlexusClient.stream() over ModelStreamInfer on a real node: several answers matched to their
// requests, in-band errors per request, backpressure from a slow reader to the producer,
// early stop and cancellation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlexusClient, PlexusClientError, type InferRequest, type StreamItem } from 'plexus/client';
import { removeTempDirs, type ClusterNode } from '../cluster/helpers.ts';
import { SPEECH_WAV } from '../node/grpc/helpers.ts';
import { rawVadInputs, startClientTestNode } from './helpers.ts';

let node: ClusterNode;
let client: PlexusClient;

beforeAll(async () => {
  node = await startClientTestNode();
  client = new PlexusClient(node.grpc, { timeoutMs: 20_000, streamTimeoutMs: 30_000 });
});

afterAll(async () => {
  client.close();
  await node.close();
  removeTempDirs();
});

const speech = (id?: string): InferRequest => ({
  model: 'speech.vad', ...(id !== undefined ? { id } : {}), inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [SPEECH_WAV] }],
});
const raw = (amplitude: number, id?: string): InferRequest => ({ model: 'silero-vad', ...(id !== undefined ? { id } : {}), inputs: rawVadInputs(amplitude) });

async function collect(it: AsyncIterable<StreamItem>): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  for await (const item of it) out.push(item);
  return out;
}

describe('stream', () => {
  it('answers every request, matched by id and index; a bad request fails in-band only', async () => {
    const requests: InferRequest[] = [
      speech('s0'), raw(0.1), raw(0.5), { model: 'no-such-model', id: 'bad', inputs: rawVadInputs() }, speech(), raw(0.9, 'r5'),
    ];
    const items = await collect(client.stream(requests, { maxInFlight: 3 }));
    expect(items).toHaveLength(requests.length);
    expect(items.map((i) => i.index).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const byIndex = new Map(items.map((i) => [i.index, i]));

    const bad = byIndex.get(3);
    expect(bad?.ok).toBe(false);
    if (bad?.ok === false) {
      expect(bad.id).toBe('bad');
      expect(bad.error).toBeInstanceOf(PlexusClientError);
      expect(bad.error.codeName).toBe('NOT_FOUND');
      expect(bad.error.code).toBe(5);
    }
    for (const index of [0, 1, 2, 4, 5]) {
      const item = byIndex.get(index);
      expect(item?.ok).toBe(true);
      if (item?.ok !== true) continue;
      expect(item.result.id).toBe(item.id);
      expect(item.result.route?.servedBy).toBe(node.peerId);
    }
    const first = byIndex.get(0);
    if (first?.ok === true) expect(first.result.output('segments').shape).toEqual([2, 2]);
    expect(byIndex.get(5)?.id).toBe('r5');

    // The same window alone gives the same probability as on the stream.
    const alone = await client.infer(raw(0.9));
    const streamed = byIndex.get(5);
    if (streamed?.ok === true) {
      expect(Array.from(streamed.result.output('output').data as Float32Array)).toEqual(Array.from(alone.output('output').data as Float32Array));
    }
  });

  it('a slow reader holds the producer back to maxInFlight requests ahead', async () => {
    const maxInFlight = 2;
    let pulled = 0;
    function* produce(): Generator<InferRequest> {
      for (let i = 0; i < 10; i++) {
        pulled += 1;
        yield raw(0.2);
      }
    }
    let taken = 0;
    let maxAhead = 0;
    for await (const item of client.stream(produce(), { maxInFlight })) {
      expect(item.ok).toBe(true);
      taken += 1;
      // Give the sender every chance to run ahead before measuring.
      await new Promise((r) => setTimeout(r, 30));
      maxAhead = Math.max(maxAhead, pulled - taken);
    }
    expect(taken).toBe(10);
    // The producer is pulled at most once more than the window (the request waiting for room).
    expect(maxAhead).toBeLessThanOrEqual(maxInFlight + 1);
  });

  it('breaking out early cancels the stream; the client keeps working', async () => {
    function* forever(): Generator<InferRequest> {
      for (;;) yield raw(0.3);
    }
    let n = 0;
    for await (const item of client.stream(forever(), { maxInFlight: 2 })) {
      expect(item.ok).toBe(true);
      if (++n === 3) break;
    }
    expect(n).toBe(3);
    expect((await client.infer(raw(0.3))).model).toBe('silero-vad');
  });

  it('an aborted signal ends the iterator with CANCELLED; a producer error ends it with that error', async () => {
    const controller = new AbortController();
    const slow: InferRequest[] = Array.from({ length: 4 }, () => ({ model: 'speech.vad.slow', inputs: rawVadInputs() }));
    const iterator = client.stream(slow, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const cancelled = await collect(iterator).then(() => undefined, (e: unknown) => e);
    expect(cancelled).toBeInstanceOf(PlexusClientError);
    expect((cancelled as PlexusClientError).codeName).toBe('CANCELLED');

    const duplicate = await collect(client.stream([raw(0.1, 'same'), raw(0.2, 'same')], { maxInFlight: 4 })).then(() => undefined, (e: unknown) => e);
    expect((duplicate as PlexusClientError).codeName).toBe('INVALID_ARGUMENT');
    expect((duplicate as PlexusClientError).details).toMatch(/'same' is already waiting/);
  });

  it('the stream deadline: DEADLINE_EXCEEDED', async () => {
    const slow: InferRequest[] = Array.from({ length: 3 }, () => ({ model: 'speech.vad.slow', inputs: rawVadInputs() }));
    const e = await collect(client.stream(slow, { timeoutMs: 150 })).then(() => undefined, (err: unknown) => err);
    expect((e as PlexusClientError).codeName).toBe('DEADLINE_EXCEEDED');
  });
});
