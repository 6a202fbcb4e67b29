// A rogue peer for the peer-bounds tests: a raw js-libp2p host (no Plexus node behind it, as in
// garbage.test.ts) that becomes a routes neighbour of a node and feeds it validly signed adverts
// of fake origins. It records the routes frames the node sends it.
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey, Stream } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { silentLogger } from '../../src/logger.ts';
import { signAdvert, type SignedAdvert, type WireUpdate } from '../../src/node/p2p/advert-codec.ts';
import { readFrames, sendFrame } from '../../src/node/p2p/framing.ts';
import { createHost, type P2PHost } from '../../src/node/p2p/host.ts';
import { ROUTES_PROTOCOL } from '../../src/node/p2p/routes-protocol.ts';
import { packRoutesFrames } from '../../src/node/p2p/routes-packing.ts';
import type { AdvertisedModel } from '../../src/routing/types.ts';

export interface FakeOrigin {
  readonly id: string;
  readonly key: PrivateKey;
}

export async function fakeOrigins(n: number): Promise<FakeOrigin[]> {
  const out: FakeOrigin[] = [];
  for (let i = 0; i < n; i++) {
    const key = await generateKeyPair('Ed25519');
    out.push({ id: peerIdFromPrivateKey(key).toString(), key });
  }
  return out;
}

/** A small model advert (one model, one capability). */
export function smallModels(i: number): AdvertisedModel[] {
  return [{ name: `fake-${i}`, version: '1', capabilities: ['fake.cap'], provider: 'cpu', price: 0, computeMs: 1, load: 0, capacity: 1 }];
}

/** Two models with 60 long-named input tensors each: ~32 KB canonical, ~36 KB on the wire. */
export function fatModels(i: number): AdvertisedModel[] {
  const inputs = Array.from({ length: 60 }, (_, k) => ({ name: `in-${k}-${'x'.repeat(200)}`, datatype: 'FP32', shape: [1, -1] }));
  return [0, 1].map((m) => ({
    name: `fat-${i}-${m}`, version: '1', capabilities: ['fat.cap'], provider: 'cpu' as const, price: 0, computeMs: 1, load: 0, capacity: 1,
    io: { platform: 'onnxruntime_onnx', inputs, outputs: [] },
  }));
}

/** 16 models with 64 inputs and 64 outputs of long names each: ~600 KB canonical. */
export function hugeModels(i: number): AdvertisedModel[] {
  const t = (dir: string) => Array.from({ length: 64 }, (_, k) => ({ name: `${dir}-${k}-${'y'.repeat(240)}`, datatype: 'FP32', shape: [1, -1] }));
  return Array.from({ length: 16 }, (_, m) => ({
    name: `huge-${i}-${m}`, version: '1', capabilities: ['huge.cap'], provider: 'cpu' as const, price: 0, computeMs: 1, load: 0, capacity: 1,
    io: { platform: 'onnxruntime_onnx', inputs: t('in'), outputs: t('out') },
  }));
}

export async function signedUpdates(origins: readonly FakeOrigin[], models: (i: number) => AdvertisedModel[], seq = Date.now()): Promise<WireUpdate[]> {
  const out: WireUpdate[] = [];
  for (const [i, o] of origins.entries()) {
    const signed: SignedAdvert = await signAdvert(o.key, { origin: o.id, seq, issuedAt: Date.now(), models: models(i) });
    out.push({ signed, metricMs: 1, hops: 0, retracted: false });
  }
  return out;
}

export interface Rogue {
  readonly host: P2PHost;
  /** Sizes of the routes frames the node sent us. */
  readonly received: number[];
  /** Open our routes stream to the node (the node then opens its own to us: we are a neighbour). */
  connect(nodeAddr: string): Promise<void>;
  /** Send updates (packed under `maxFrameBytes`, as an honest node would) with optional dial hints. */
  send(updates: readonly WireUpdate[], hints?: (origin: string) => readonly string[] | undefined, maxFrameBytes?: number): Promise<void>;
  /** Re-send `updates` every `everyMs` (the periodic refresh an honest neighbour sends) until stop() or the returned function. */
  keepSending(updates: readonly WireUpdate[], everyMs: number): () => void;
  stop(): Promise<void>;
}

export async function startRogue(): Promise<Rogue> {
  const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), logger: silentLogger() });
  await host.start();
  const received: number[] = [];
  await host.libp2p.handle(ROUTES_PROTOCOL, (stream) => {
    stream.inactivityTimeout = 0;
    readFrames(stream, 256 * 1024 * 1024, { onFrame: (f) => { received.push(f.byteLength); }, onOversize: () => undefined });
  }, { maxInboundStreams: 4 });
  let out: Stream | undefined;
  const timers: NodeJS.Timeout[] = [];
  return {
    host, received,
    async connect(nodeAddr) {
      out = await host.libp2p.dialProtocol(multiaddr(nodeAddr), ROUTES_PROTOCOL, { signal: AbortSignal.timeout(5000) });
      out.inactivityTimeout = 0;
    },
    async send(updates, hints = () => undefined, maxFrameBytes = 1024 * 1024) {
      const s = out;
      if (s === undefined) throw new Error('connect first');
      for (const f of packRoutesFrames(updates, hints, maxFrameBytes).frames) await sendFrame(s, [f]);
    },
    keepSending(updates, everyMs) {
      const s = out;
      if (s === undefined) throw new Error('connect first');
      const frames = packRoutesFrames(updates, () => undefined, 1024 * 1024).frames;
      const t = setInterval(() => { for (const f of frames) void sendFrame(s, [f]).catch(() => undefined); }, everyMs);
      timers.push(t);
      return () => { clearInterval(t); };
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      await host.stop();
    },
  };
}
