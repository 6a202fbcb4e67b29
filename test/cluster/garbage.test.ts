// A raw libp2p peer (no Plexus node behind it) dials a Plexus node and speaks nonsense on
// the routes and forward protocols: garbage, a wrong wire version, forged signatures,
// unknown frame types and oversized length prefixes. The node answers with an error frame
// or drops the stream or the connection, learns nothing false, and keeps serving queries.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import type { Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { encodeRoutesFrame, ROUTES_WIRE_VERSION, signAdvert } from '../../src/node/p2p/advert-codec.ts';
import { decodeFrame, encodeRequest, FRAME_ERROR, FRAME_RESULT, type DecodedFrame } from '../../src/node/p2p/forward-codec.ts';
import { FORWARD_PROTOCOL } from '../../src/node/p2p/forward-protocol.ts';
import { readFrames, sendFrame } from '../../src/node/p2p/framing.ts';
import { createHost, type P2PHost } from '../../src/node/p2p/host.ts';
import { ROUTES_PROTOCOL } from '../../src/node/p2p/routes-protocol.ts';
import { infer, originsFor, paramString, removeTempDirs, startClusterNode, waitFor, type ClusterNode } from './helpers.ts';

let node: ClusterNode;
const attackers: P2PHost[] = [];

beforeAll(async () => {
  node = await startClusterNode();
});

afterAll(async () => {
  await Promise.all(attackers.map((h) => h.stop()));
  await node.close();
  removeTempDirs();
});

// libp2p resets more than 5 inbound connections a second from one IP: the forward tests
// share one raw peer (their strikes count per stream), the routes tests need their own.
let forwardPeer: P2PHost | undefined;
async function forwardAttacker(): Promise<P2PHost> {
  forwardPeer ??= await attacker();
  return forwardPeer;
}

async function attacker(): Promise<P2PHost> {
  const h = await createHost({ privateKey: await generateKeyPair('Ed25519'), logger: silentLogger() });
  attackers.push(h);
  await h.start();
  return h;
}

async function open(h: P2PHost, protocol: string): Promise<Stream> {
  const s = await h.libp2p.dialProtocol(multiaddr(node.addrs[0] ?? ''), protocol, { signal: AbortSignal.timeout(5000) });
  s.inactivityTimeout = 0;
  return s;
}

/** A length-prefixed frame carrying `payload` (what framing.ts expects). */
function lengthPrefixed(payload: Uint8Array, announced = payload.byteLength): Uint8Array {
  const out = new Uint8Array(4 + payload.byteLength);
  new DataView(out.buffer).setUint32(0, announced, false);
  out.set(payload, 4);
  return out;
}

const json = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x));
const connected = (h: P2PHost): boolean => h.libp2p.getConnections(peerIdFromString(node.peerId)).length > 0;
const closed = (s: Stream): boolean => s.status !== 'open';

/** Collect the forward frames a stream receives. */
function replies(s: Stream): DecodedFrame[] {
  const got: DecodedFrame[] = [];
  readFrames(s, 64 * 1024 * 1024, { onFrame: (f) => { got.push(decodeFrame(f)); }, onOversize: () => undefined });
  return got;
}

/** A bad forward frame: type byte, correlation id, then a header length that does not fit. */
function badForwardFrame(corr: number, type = 1): Uint8Array {
  const b = new Uint8Array(9 + 4);
  const v = new DataView(b.buffer);
  v.setUint8(0, type);
  v.setUint32(1, corr, false);
  v.setUint32(5, 0xfffffff0, false);
  return b;
}

/** A well-formed forward frame of an unknown type. */
function unknownTypeFrame(corr: number): Uint8Array {
  const h = json({});
  const b = new Uint8Array(9 + h.byteLength);
  const v = new DataView(b.buffer);
  v.setUint8(0, 9);
  v.setUint32(1, corr, false);
  v.setUint32(5, h.byteLength, false);
  b.set(h, 9);
  return b;
}

function vadRequestFrame(corr: number, from: string): Uint8Array[] {
  return encodeRequest(corr, {
    queryId: `raw-${corr}`, ttl: 4, remainingMs: 10_000, route: [from], origin: node.peerId, model: 'silero-vad',
    outputs: ['output'], parameters: {},
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [1, 512], data: new Float32Array(512).map((_, i) => 0.3 * Math.sin(i / 5)) },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Float32Array(256) },
      { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array([16000n]) },
    ],
  });
}

async function stillServes(): Promise<void> {
  const res = await infer(node, {}, 10_000);
  expect(paramString(res.parameters, 'plexus.served_by')).toBe(node.peerId);
}

describe('garbage on /plexus/routes', () => {
  it('garbage, a wrong version and a forged advert earn strikes; the third drops the connection and nothing is learned', async () => {
    const h = await attacker();
    const s = await open(h, ROUTES_PROTOCOL);
    s.send(lengthPrefixed(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff])));
    s.send(lengthPrefixed(json({ v: ROUTES_WIRE_VERSION + 1, u: [] })));
    // An advert claiming another peer's origin, signed with the attacker's key.
    const victim = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    const forged = encodeRoutesFrame({
      updates: [{
        signed: { advert: { origin: victim, seq: Date.now(), issuedAt: Date.now(), models: [{ name: 'evil', version: '1', capabilities: ['speech.vad.raw'], provider: 'cpu', price: 0, computeMs: 0, load: 0, capacity: 1 }] }, sig: new Uint8Array(64) },
        metricMs: 0, hops: 0, retracted: false,
      }],
      addrs: {},
    });
    s.send(lengthPrefixed(forged));
    await waitFor('the node hangs up on the peer', () => !connected(h), 5000);
    expect(originsFor(node, 'speech.vad.raw')).toEqual(new Set([node.peerId]));
    expect(node.cluster().adverts().map((a) => a.origin)).toEqual([node.peerId]);
    await stillServes();
  });

  it('an oversized length prefix closes the stream at once, before any body arrives', async () => {
    const h = await attacker();
    const s = await open(h, ROUTES_PROTOCOL);
    s.send(lengthPrefixed(new Uint8Array(0), 512 * 1024 * 1024));
    await waitFor('the node drops the stream', () => closed(s) || !connected(h), 5000);
    await stillServes();
  });
});

describe('dial hints on /plexus/routes', () => {
  it('the node dials hinted addresses only of origins the frame offers a signed route to', async () => {
    // A raw neighbour: it accepts the node's routes stream (and ignores it), so the node takes
    // its frames; the lure is a peer the node should dial only with a signed route to it.
    const h = await attacker();
    await h.libp2p.handle(ROUTES_PROTOCOL, () => undefined);
    const lureKey = await generateKeyPair('Ed25519');
    const lure = await createHost({ privateKey: lureKey, logger: silentLogger() });
    attackers.push(lure);
    await lure.start();
    const lureAddrs = lure.multiaddrs().map((a) => a.replace(/\/p2p\/[^/]+$/, ''));
    const lureDialled = (): boolean => lure.libp2p.getConnections(peerIdFromString(node.peerId)).length > 0;

    const s = await open(h, ROUTES_PROTOCOL);
    await sendFrame(s, [encodeRoutesFrame({ updates: [], addrs: { [lure.peerId]: lureAddrs } })]);
    await waitFor('the raw peer becomes a neighbour', () => node.cluster().peers().some((p) => p.peerId === h.peerId && p.neighbour), 5000);
    await new Promise((r) => setTimeout(r, 500));
    expect(lureDialled()).toBe(false);

    const now = Date.now();
    const signed = await signAdvert(lureKey, { origin: lure.peerId, seq: now, issuedAt: now, models: [] });
    await sendFrame(s, [encodeRoutesFrame({ updates: [{ signed, metricMs: 1, hops: 0, retracted: false }], addrs: { [lure.peerId]: lureAddrs } })]);
    await waitFor('the node dials the lure it now has a route to', lureDialled, 5000);
  });
});

describe('garbage on /plexus/forward', () => {
  it('a malformed frame gets an INVALID_ARGUMENT error frame for its correlation id; a good request on the same stream is still answered', async () => {
    const h = await forwardAttacker();
    const s = await open(h, FORWARD_PROTOCOL);
    const got = replies(s);
    await sendFrame(s, [badForwardFrame(7)]);
    await waitFor('an error frame for corr 7', () => got.some((f) => f.corr === 7), 5000);
    expect(got.find((f) => f.corr === 7)).toMatchObject({ type: FRAME_ERROR, body: { kind: 'invalid_argument' } });

    await sendFrame(s, [unknownTypeFrame(8)]);
    await waitFor('an error frame for corr 8', () => got.some((f) => f.corr === 8), 5000);
    const unknown = got.find((f) => f.corr === 8);
    expect(unknown?.type).toBe(FRAME_ERROR);
    expect(unknown?.type === FRAME_ERROR ? unknown.body.message : '').toMatch(/unknown frame type 9/);

    await sendFrame(s, vadRequestFrame(9, h.peerId));
    await waitFor('the result for corr 9', () => got.some((f) => f.corr === 9), 10_000);
    const res = got.find((f) => f.corr === 9);
    expect(res?.type).toBe(FRAME_RESULT);
    if (res?.type === FRAME_RESULT) {
      expect(res.body.model).toBe('silero-vad');
      expect(res.body.hops.map((x) => x.peer)).toEqual([node.peerId]);
    }
  });

  it('repeated bad frames end the stream; the node keeps serving', async () => {
    const h = await forwardAttacker();
    const s = await open(h, FORWARD_PROTOCOL);
    replies(s);
    for (let corr = 1; corr <= 3; corr++) await sendFrame(s, [badForwardFrame(corr)]).catch(() => undefined);
    await waitFor('the node aborts the stream', () => closed(s), 5000);
    await stillServes();
  });

  it('a frame shorter than its header, and an oversized length prefix, drop the stream', async () => {
    const h = await forwardAttacker();
    const s1 = await open(h, FORWARD_PROTOCOL);
    const got = replies(s1);
    // Too short to carry a correlation id: nothing to answer, but a strike.
    for (let i = 0; i < 3; i++) await sendFrame(s1, [new Uint8Array([1, 2])]).catch(() => undefined);
    await waitFor('the node aborts the stream of short frames', () => closed(s1), 5000);
    expect(got).toEqual([]);

    const s2 = await open(h, FORWARD_PROTOCOL);
    s2.send(lengthPrefixed(new Uint8Array(0), 0xffffffff));
    await waitFor('the node drops the oversized stream', () => closed(s2) || !connected(h), 5000);
    await stillServes();
  });

  it('a request that claims a route through the node itself is refused as a loop', async () => {
    const h = await forwardAttacker();
    const s = await open(h, FORWARD_PROTOCOL);
    const got = replies(s);
    const parts = encodeRequest(5, {
      queryId: 'loop', ttl: 4, remainingMs: 5000, route: [node.peerId, h.peerId], origin: node.peerId, model: 'silero-vad',
      outputs: [], parameters: {}, inputs: [],
    });
    await sendFrame(s, parts);
    await waitFor('an answer for corr 5', () => got.some((f) => f.corr === 5), 5000);
    expect(got.find((f) => f.corr === 5)).toMatchObject({ type: FRAME_ERROR, body: { kind: 'failed_precondition' } });
  });
});

describe('after the garbage', () => {
  it('a real node still joins and queries through it', async () => {
    const other = await startClusterNode({ noModels: true, bootstrap: [node.addrs[0] ?? ''] });
    try {
      await waitFor('the newcomer learns the model', () => originsFor(other, 'speech.vad.raw').has(node.peerId), 10_000);
      const res = await infer(other);
      expect(paramString(res.parameters, 'plexus.route')).toBe(`${other.peerId},${node.peerId}`);
    } finally {
      await other.close();
    }
  });
});
