// A raw js-libp2p peer (no Plexus node behind it) that speaks the routes and forward protocols
// and lies (issue 9): it advertises a model at 0 ms and answers queries itself with made-up
// outputs, either claiming an honest node served them (a forged plexus.served_by) or signing
// its own wrong answers. The entry node E rejects the forgery as a peer fault and catches the
// wrong answers by re-execution; no test here depends on the fault knobs.
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey, Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../src/logger.ts';
import { encodeRoutesFrame, signAdvert } from '../../src/node/p2p/advert-codec.ts';
import { decodeFrame, encodeResult, FRAME_REQUEST, type ForwardRequest, type ForwardResult } from '../../src/node/p2p/forward-codec.ts';
import { FORWARD_PROTOCOL } from '../../src/node/p2p/forward-protocol.ts';
import { readFrames, sendFrame } from '../../src/node/p2p/framing.ts';
import { createHost, type P2PHost } from '../../src/node/p2p/host.ts';
import { ROUTES_PROTOCOL } from '../../src/node/p2p/routes-protocol.ts';
import { signAnswer } from '../../src/node/verify/proof.ts';
import type { AdvertisedModel } from '../../src/routing/types.ts';
import { call } from '../node/grpc/helpers.ts';
import { infer, paramString, rawVadRequest, removeTempDirs, startClusterNode, waitFor, type ClusterNode, type InferResponse } from './helpers.ts';

function vad(name: string, capabilities: string[]): Record<string, unknown> {
  return { name, path: 'builtin:silero-vad', capabilities, session: { intraOpThreads: 1, interOpThreads: 1 }, maxConcurrent: 4, maxQueue: 256 };
}

let e: ClusterNode;
let h: ClusterNode;
let h2: ClusterNode;
const rogues: P2PHost[] = [];
const timers: NodeJS.Timeout[] = [];

beforeAll(async () => {
  e = await startClusterNode({ noModels: true });
  const boot = [e.addrs[0] ?? ''];
  [h, h2] = await Promise.all([
    startClusterNode({ bootstrap: boot, models: [vad('vad-f', ['vad.f']), vad('vad-r', ['vad.r'])] }),
    startClusterNode({ bootstrap: boot, models: [vad('vad-r', ['vad.r'])] }),
  ]);
  await waitFor('E knows H and H2', () => e.cluster().routes().filter((r) => r.model === 'vad-r').length === 2, 15_000);
}, 30_000);

afterAll(async () => {
  for (const t of timers) clearInterval(t);
  await Promise.all(rogues.map((r) => r.stop()));
  await Promise.all([h, h2, e].map((n) => n.close()));
  removeTempDirs();
});

type Answer = (req: ForwardRequest, self: string, key: PrivateKey) => Promise<ForwardResult>;

/** A rogue peer advertising `model` (the honest node's io, compute 0) that answers every query with `answer`. */
async function rogue(model: string, capability: string, answer: Answer): Promise<{ host: P2PHost; asked: () => number }> {
  const key = await generateKeyPair('Ed25519');
  const host = await createHost({ privateKey: key, logger: silentLogger() });
  rogues.push(host);
  await host.start();
  let asked = 0;
  await host.libp2p.handle(ROUTES_PROTOCOL, () => undefined);
  await host.libp2p.handle(FORWARD_PROTOCOL, (stream: Stream) => {
    stream.inactivityTimeout = 0;
    readFrames(stream, 64 * 1024 * 1024, {
      onOversize: () => undefined,
      onFrame: (bytes) => {
        const f = decodeFrame(bytes);
        if (f.type !== FRAME_REQUEST) return;
        asked++;
        void answer(f.body, host.peerId, key).then((res) => sendFrame(stream, encodeResult(f.corr, res)));
      },
    });
  });
  const honest = e.cluster().adverts().find((a) => a.origin === h.peerId)?.models.find((m) => m.name === model);
  const advertised: AdvertisedModel = { name: model, version: '1', capabilities: [capability], provider: 'cpu', price: 0, computeMs: 0, load: 0, capacity: 64, ...(honest?.io === undefined ? {} : { io: honest.io }) };
  const s = await host.libp2p.dialProtocol(multiaddr(e.addrs[0] ?? ''), ROUTES_PROTOCOL, { signal: AbortSignal.timeout(5000) });
  s.inactivityTimeout = 0;
  const seq = Date.now();
  const signed = await signAdvert(key, { origin: host.peerId, seq, issuedAt: seq, models: [advertised] });
  const announce = (): void => { void sendFrame(s, [encodeRoutesFrame({ updates: [{ signed, metricMs: 0, hops: 0, retracted: false }], addrs: {} })]).catch(() => undefined); };
  announce();
  timers.push(setInterval(announce, 500));
  await waitFor('E has a route to the rogue', () => e.cluster().routes().some((r) => r.origin === host.peerId), 10_000);
  return { host, asked: () => asked };
}

/** A made-up raw VAD answer: speech probability 0.999 whatever the input. */
function madeUp(req: ForwardRequest): Omit<ForwardResult, 'hops'> {
  return { model: req.model, version: '1', id: req.queryId, parameters: {}, outputs: [{ name: 'output', datatype: 'FP32', shape: [1, 1], data: Float32Array.from([0.999]) }] };
}

const truthOf = async (n: ClusterNode, model: string): Promise<Buffer> =>
  (await call<InferResponse>(n.inference, 'ModelInfer', rawVadRequest(model), 10_000)).raw_output_contents[0] ?? Buffer.alloc(0);

describe('a raw libp2p peer that lies', () => {
  it('a forged plexus.served_by (an honest node named, no valid signature) is rejected as the relay\'s fault', async () => {
    const r = await rogue('vad-f', 'vad.f', (req) => Promise.resolve({
      ...madeUp(req), hops: [{ peer: h.peerId, ms: 1 }], proof: { by: h.peerId, sig: Buffer.alloc(64, 7).toString('base64') },
    }));
    // Pinned to the rogue: every try fails, UNAVAILABLE, naming the missing signature; never "served by H".
    const err = await infer(e, { 'plexus.peer': r.host.peerId }, 5000, 'vad.f').then(() => undefined, (x: unknown) => x as grpc.ServiceError);
    expect(err?.code).toBe(14);
    expect(err?.details).toMatch(/no valid signature/);
    expect(e.cluster().trust().find((t) => t.peer === r.host.peerId)?.faults).toBeGreaterThanOrEqual(1);
    // Unpinned, the answers callers get are H's real ones.
    const truth = await truthOf(h, 'vad-f');
    let wrong = 0;
    for (let i = 0; i < 6; i++) {
      const res = await infer(e, {}, 5000, 'vad.f');
      if (!res.raw_output_contents[0]?.equals(truth)) wrong++;
      expect(paramString(res.parameters, 'plexus.served_by')).toBe(h.peerId);
    }
    console.log(`forger: asked ${r.asked()} times, ${wrong} forged answers reached callers`);
    expect(wrong).toBe(0);
    expect(r.asked()).toBeLessThanOrEqual(3);
  }, 30_000);

  it('its own signed wrong answers: plexus.verify=true gets the honest answer, and the rogue is quarantined', async () => {
    const r = await rogue('vad-r', 'vad.r', async (req, self, key) => {
      const a = madeUp(req);
      return { ...a, hops: [{ peer: self, ms: 1 }], proof: await signAnswer(key, self, req.queryId, req.nonce ?? '', a) };
    });
    const truth = await truthOf(h, 'vad-r');
    const first = await infer(e, { 'plexus.peer': r.host.peerId, 'plexus.verify': 'true' }, 5000, 'vad.r');
    expect(first.raw_output_contents[0]?.equals(truth)).toBe(true);
    expect([h.peerId, h2.peerId]).toContain(paramString(first.parameters, 'plexus.verified_by'));
    expect(e.cluster().trust().find((t) => t.peer === r.host.peerId)?.state).toBe('quarantined');
    // Quarantined: its routes are ignored, even when pinned.
    const pinned = await infer(e, { 'plexus.peer': r.host.peerId }, 5000, 'vad.r').then(() => undefined, (x: unknown) => x as grpc.ServiceError);
    expect(pinned?.code).toBe(9);
    expect(pinned?.details).toMatch(/quarantined/);
    let wrong = 0;
    for (let i = 0; i < 6; i++) if (!(await infer(e, {}, 5000, 'vad.r')).raw_output_contents[0]?.equals(truth)) wrong++;
    console.log(`signed liar: asked ${r.asked()} times, ${wrong} wrong answers reached callers after the check`);
    expect(wrong).toBe(0);
    expect(r.asked()).toBe(1);
  }, 30_000);
});
