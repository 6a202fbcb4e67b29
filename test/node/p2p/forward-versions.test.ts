// /plexus/forward's two versions between real libp2p hosts (loopback): a node offers 2.0.0 first
// and 1.0.0 second, so two current nodes speak 2.0.0 and a node still on 1.0.0 is spoken to, and
// answered, in 1.0.0. One query at a time, 2.0.0's tensors arrive as views of the received frame.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../../src/inference/types.ts';
import { silentLogger } from '../../../src/logger.ts';
import type { ForwardRequest } from '../../../src/node/p2p/forward-frame.ts';
import { createForwardProtocol, FORWARD_PROTOCOL, FORWARD_PROTOCOL_V1, type ForwardProtocol } from '../../../src/node/p2p/forward-protocol.ts';
import { createHost, type P2PHost } from '../../../src/node/p2p/host.ts';

const request = (id: string, n: number): ForwardRequest => ({
  queryId: id, ttl: 4, remainingMs: 5000, route: [], origin: '', model: 'echo', outputs: [], parameters: { tag: id, n },
  inputs: [{ name: 'x', datatype: 'FP32', shape: [n], data: Float32Array.from({ length: n }, (_, i) => i / 2) }, { name: 'k', datatype: 'INT64', shape: [], data: BigInt64Array.from([BigInt(n)]) }],
});

/** Whether a tensor's data is a view into a larger buffer (the frame it came in) rather than a copy of its own. */
const isView = (t: Tensor): boolean => { const d = t.data as ArrayBufferView; return d.buffer.byteLength > d.byteLength; };

interface Node { host: P2PHost; forward: ForwardProtocol; received: ForwardRequest[] }
const nodes: Node[] = [];

async function node(versions?: readonly string[], bootstrap?: P2PHost): Promise<Node> {
  const addr = bootstrap === undefined ? [] : [(bootstrap.multiaddrs()[0] ?? '').replace(/\/p2p\/.*$/, '')];
  const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), bootstrap: addr, logger: silentLogger() });
  await host.start();
  const forward = createForwardProtocol({ host, logger: silentLogger(), ...(versions === undefined ? {} : { versions }) });
  const n: Node = { host, forward, received: [] };
  // Echoes the query's parameters and inputs back as its answer.
  forward.onQuery((req) => { n.received.push(req); return Promise.resolve({ model: req.model, version: '1', id: req.queryId, parameters: req.parameters, hops: [], outputs: req.inputs }); });
  await forward.start();
  nodes.push(n);
  return n;
}

async function connected(a: P2PHost, b: P2PHost): Promise<void> {
  const until = Date.now() + 5000;
  while (!a.connectedPeers().includes(b.peerId) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

/** The protocols of the open streams from `from` to `to`. */
const streamsTo = (from: P2PHost, to: P2PHost): string[] =>
  from.libp2p.getConnections().filter((c) => c.remotePeer.toString() === to.peerId).flatMap((c) => c.streams.map((s) => s.protocol));

let current: Node;
let other: Node;
let old: Node;

beforeAll(async () => {
  current = await node();
  other = await node(undefined, current.host);
  old = await node([FORWARD_PROTOCOL_V1], current.host);
  await Promise.all([connected(other.host, current.host), connected(old.host, current.host)]);
});
afterAll(async () => {
  for (const n of nodes) await n.forward.stop();
  for (const n of nodes) await n.host.stop();
});

describe('forward protocol versions', () => {
  it('two current nodes speak 2.0.0, and every field and tensor arrives as sent', async () => {
    const res = await other.forward.send(current.host.peerId, request('v2', 5));
    expect(streamsTo(other.host, current.host)).toContain(FORWARD_PROTOCOL);
    expect(streamsTo(other.host, current.host)).not.toContain(FORWARD_PROTOCOL_V1);
    expect(res.parameters).toEqual({ tag: 'v2', n: 5 });
    expect(res.outputs).toEqual(request('v2', 5).inputs);
  });

  it('a node on 1.0.0 is answered in 1.0.0, and is spoken to in 1.0.0', async () => {
    const up = await old.forward.send(current.host.peerId, request('from-old', 3));
    expect(up.outputs).toEqual(request('from-old', 3).inputs);
    expect(streamsTo(old.host, current.host)).toEqual([FORWARD_PROTOCOL_V1]);
    const down = await current.forward.send(old.host.peerId, request('to-old', 4));
    expect(down.outputs).toEqual(request('to-old', 4).inputs);
    expect(old.received.map((r) => r.queryId)).toEqual(['to-old']);
    expect(streamsTo(current.host, old.host)).toEqual([FORWARD_PROTOCOL_V1, FORWARD_PROTOCOL_V1]);
  });

  it('one query at a time, 2.0.0 delivers tensors as views of the received frame, both ways', async () => {
    current.received.length = 0;
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await other.forward.send(current.host.peerId, request(`seq-${i}`, 8 + i * 37)));
    const arrived = current.received.flatMap((r) => r.inputs).filter(isView).length;
    const returned = answers.flatMap((r) => r.outputs).filter(isView).length;
    // The first answer can share its Noise message with a yamux window update, which shifts it.
    expect(arrived).toBe(10);
    expect(returned).toBeGreaterThanOrEqual(8);
  });
});
