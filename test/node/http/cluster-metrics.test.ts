// Route metrics on a two-node cluster: a pure router (A) forwards a REST query to the node that
// hosts the model (B); A counts the remote route choice and the forward, and its peer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeMetrics } from '../../../src/node/metrics.ts';
import { metricValue, postJson, request, startHttpNode, type HttpTestNode } from './helpers.ts';

const samples = Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin(i / 5));
const rawBody = {
  inputs: [
    { name: 'input', datatype: 'FP32', shape: [1, 512], data: samples },
    { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array(256).fill(0) },
    { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
  ],
};

let a: HttpTestNode;
let b: HttpTestNode;
beforeAll(async () => {
  b = await startHttpNode();
  a = await startHttpNode({ noModels: true, bootstrap: [b.node.listenAddrs()[0] ?? ''] });
  // A knows the model once B's advert reached it.
  const until = Date.now() + 20_000;
  while ((await request(`${a.base}/v2/models/speech.vad.raw`)).status !== 200) {
    if (Date.now() > until) throw new Error('node A never learned speech.vad.raw from B');
    await new Promise((r) => setTimeout(r, 100));
  }
});
afterAll(async () => {
  await a.close();
  await b.close();
});

describe('route metrics', () => {
  it('counts the forward and the remote route choice at the entry node', async () => {
    const r = await postJson(`${a.base}/v2/models/speech.vad.raw/infer`, rawBody);
    expect(r.status, r.text).toBe(200);
    expect((r.json?.parameters as Record<string, unknown>)['plexus.route']).toBe(`${a.node.peerId()},${b.node.peerId()}`);

    const text = (await request(`${a.base}/metrics`)).text;
    expect(metricValue(text, 'plexus_forwarded_total', { model: 'speech.vad.raw' })).toBe(1);
    expect(metricValue(text, 'plexus_route_choices_total', { policy: 'plexus', target: 'remote' })).toBe(1);
    expect(metricValue(text, 'plexus_route_choices_total', { policy: 'plexus', target: 'local' })).toBeUndefined();
    expect(metricValue(text, 'plexus_failovers_total', { model: 'speech.vad.raw' })).toBeUndefined();
    expect(metricValue(text, 'plexus_peers_connected', {})).toBe(1);
    expect(metricValue(text, 'plexus_requests_total', { api: 'http', model: 'speech.vad.raw', code: 'OK' })).toBe(1);
    // The provider ran it but did not count it as a query it received from a client.
    const bText = (await request(`${b.base}/metrics`)).text;
    expect(metricValue(bText, 'plexus_compute_seconds_count', { model: 'silero-vad' })).toBe(1);
    expect(metricValue(bText, 'plexus_requests_total', { api: 'http', model: 'speech.vad.raw' })).toBeUndefined();
  });

  it('counts tries after the first as failovers (and forwards when remote)', async () => {
    const m = createNodeMetrics({ policy: 'random' });
    m.routeEvents.attempt?.({ model: 'speech.vad', attempt: 1, local: false });
    m.routeEvents.attempt?.({ model: 'speech.vad', attempt: 2, local: true });
    const text = (await m.scrape()).body;
    expect(metricValue(text, 'plexus_route_choices_total', { policy: 'random', target: 'remote' })).toBe(1);
    expect(metricValue(text, 'plexus_failovers_total', { model: 'speech.vad' })).toBe(1);
    expect(metricValue(text, 'plexus_forwarded_total', { model: 'speech.vad' })).toBe(1);
  });
});
