// What a relay can see (issue 9), shown with a raw js-libp2p relay R between the entry node E
// and the provider H (E knows H only through R): without plexus.seal, R reads the inputs and
// outputs in clear; with plexus.seal=true it forwards ciphertext, and the caller still gets H's
// signed answer.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { decodeRoutesFrame, encodeRoutesFrame, type SignedAdvert } from '../../src/node/p2p/advert-codec.ts';
import { decodeFrame, encodeRequest, encodeResult, FRAME_REQUEST, FRAME_RESULT, type ForwardResult } from '../../src/node/p2p/forward-codec.ts';
import { FORWARD_PROTOCOL } from '../../src/node/p2p/forward-protocol.ts';
import { readFrames, sendFrame } from '../../src/node/p2p/framing.ts';
import { createHost, type P2PHost } from '../../src/node/p2p/host.ts';
import { ROUTES_PROTOCOL } from '../../src/node/p2p/routes-protocol.ts';
import { infer, paramString, rawVadRequest, removeTempDirs, startClusterNode, waitFor, type ClusterNode, type InferResponse } from './helpers.ts';
import { call } from '../node/grpc/helpers.ts';

let e: ClusterNode;
let h: ClusterNode;
let r: P2PHost;
let timer: NodeJS.Timeout | undefined;
/** Every frame R relayed, both ways, as R saw it. */
const seen: Buffer[] = [];

beforeAll(async () => {
  h = await startClusterNode({ static: true });
  e = await startClusterNode({ static: true, noModels: true });
  r = await createHost({ privateKey: await generateKeyPair('Ed25519'), logger: silentLogger() });
  await r.start();
  let heard: SignedAdvert | undefined;
  await r.libp2p.handle(ROUTES_PROTOCOL, (stream: Stream) => {
    stream.inactivityTimeout = 0;
    readFrames(stream, 64 * 1024 * 1024, {
      onOversize: () => undefined,
      onFrame: (bytes) => { for (const u of decodeRoutesFrame(bytes).updates) if (u.signed.advert.origin === h.peerId) heard = u.signed; },
    });
  });
  const toH = await r.libp2p.dialProtocol(multiaddr(h.addrs[0] ?? ''), ROUTES_PROTOCOL, { signal: AbortSignal.timeout(5000) });
  toH.inactivityTimeout = 0;
  await sendFrame(toH, [encodeRoutesFrame({ updates: [], addrs: {} })]);
  await waitFor('R hears H', () => heard !== undefined, 10_000);
  // R's stream to H, and its relaying of E's queries over it.
  const up = await r.libp2p.dialProtocol(peerIdFromString(h.peerId), FORWARD_PROTOCOL, { signal: AbortSignal.timeout(5000) });
  up.inactivityTimeout = 0;
  const waiting = new Map<number, (res: ForwardResult) => void>();
  readFrames(up, 64 * 1024 * 1024, {
    onOversize: () => undefined,
    onFrame: (bytes) => {
      seen.push(Buffer.from(bytes));
      const f = decodeFrame(bytes);
      if (f.type === FRAME_RESULT) waiting.get(f.corr)?.(f.body);
    },
  });
  let corr = 1;
  await r.libp2p.handle(FORWARD_PROTOCOL, (stream: Stream) => {
    stream.inactivityTimeout = 0;
    readFrames(stream, 64 * 1024 * 1024, {
      onOversize: () => undefined,
      onFrame: (bytes) => {
        seen.push(Buffer.from(bytes));
        const f = decodeFrame(bytes);
        if (f.type !== FRAME_REQUEST) return;
        const c = corr++;
        void new Promise<ForwardResult>((resolve) => {
          waiting.set(c, resolve);
          void sendFrame(up, encodeRequest(c, { ...f.body, ttl: f.body.ttl - 1, route: [...f.body.route, r.peerId] }));
        }).then((res) => sendFrame(stream, encodeResult(f.corr, { ...res, hops: [{ peer: r.peerId, ms: 1 }, ...res.hops] })));
      },
    });
  });
  const toE = await r.libp2p.dialProtocol(multiaddr(e.addrs[0] ?? ''), ROUTES_PROTOCOL, { signal: AbortSignal.timeout(5000) });
  toE.inactivityTimeout = 0;
  const announce = (): void => {
    if (heard !== undefined) void sendFrame(toE, [encodeRoutesFrame({ updates: [{ signed: heard, metricMs: 1, hops: 1, retracted: false }], addrs: {} })]).catch(() => undefined);
  };
  announce();
  timer = setInterval(announce, 300);
  await waitFor('E routes to H through R', () => e.cluster().routes().some((x) => x.origin === h.peerId && x.nextHop === r.peerId), 10_000);
}, 30_000);

afterAll(async () => {
  clearInterval(timer);
  await r.stop();
  await Promise.all([e, h].map((n) => n.close()));
  removeTempDirs();
});

/** The query's input window and the answer's output bytes: what a relay must not read when sealed. */
const request = rawVadRequest('speech.vad.raw') as { raw_input_contents: Buffer[] };
const inputBytes = request.raw_input_contents[0] ?? Buffer.alloc(0);
const relayed = (needle: Buffer): boolean => seen.some((f) => f.includes(needle));

describe('what a relay can see', () => {
  it('without plexus.seal, the relay reads the inputs and the outputs in clear', async () => {
    seen.length = 0;
    const res = await infer(e, {});
    expect(paramString(res.parameters, 'plexus.route')).toBe(`${e.peerId},${r.peerId},${h.peerId}`);
    expect(relayed(inputBytes)).toBe(true);
    expect(relayed(res.raw_output_contents[0] ?? Buffer.alloc(1))).toBe(true);
  });

  it('with plexus.seal=true, it forwards ciphertext only; the caller gets the same answer, signed by H', async () => {
    const truth = (await call<InferResponse>(h.inference, 'ModelInfer', rawVadRequest('speech.vad.raw'), 10_000)).raw_output_contents[0] ?? Buffer.alloc(1);
    seen.length = 0;
    const res = await infer(e, { 'plexus.seal': 'true' });
    expect(paramString(res.parameters, 'plexus.served_by')).toBe(h.peerId);
    expect(paramString(res.parameters, 'plexus.route')).toBe(`${e.peerId},${r.peerId},${h.peerId}`);
    expect(res.raw_output_contents[0]?.equals(truth)).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(relayed(inputBytes)).toBe(false);
    expect(relayed(truth)).toBe(false);
  });
});
