// Route updates are packed into frames by bytes under the shared limit, and what goes in comes
// out of the decoder unchanged.
import { describe, expect, it } from 'vitest';
import { decodeRoutesFrame, encodeRoutesFrame, MAX_UPDATES_PER_FRAME, type WireUpdate } from '../../../src/node/p2p/advert-codec.ts';
import { packRoutesFrames } from '../../../src/node/p2p/routes-packing.ts';
import type { AdvertisedModel } from '../../../src/routing/types.ts';

function fatModel(i: number, pad: number): AdvertisedModel {
  return {
    name: `model-${i}`, version: '1', capabilities: ['cap.é', ...Array.from({ length: Math.ceil(pad / 50) }, (_, k) => `c${k}.${'x'.repeat(46)}`)], provider: 'cpu', price: 0, computeMs: 1, load: 0, capacity: 1,
    io: { platform: 'onnx', inputs: [{ name: 'in', datatype: 'FP32', shape: [1, -1] }], outputs: [] },
  };
}

function wire(origin: string, models: AdvertisedModel[], metricMs = 1): WireUpdate {
  return { signed: { advert: { origin, seq: 7, issuedAt: 1, models }, sig: new Uint8Array(64).fill(3) }, metricMs, hops: 1, retracted: false };
}

const hints = (o: string): string[] => [`/ip4/127.0.0.1/tcp/${o.length}`, '/ip4/10.0.0.1/tcp/4001'];

describe('packRoutesFrames', () => {
  it('1,500 fat updates: every frame under the limit, all updates and hints delivered in order', () => {
    const updates = Array.from({ length: 1500 }, (_, i) => wire(`origin-${i}`, [fatModel(i, 200 + (i % 300))], i % 7 === 0 ? Infinity : i));
    const max = 256 * 1024;
    const { frames, skipped } = packRoutesFrames(updates, hints, max);
    expect(skipped).toEqual([]);
    expect(frames.length).toBeGreaterThan(1);
    const out: WireUpdate[] = [];
    for (const f of frames) {
      expect(f.byteLength).toBeLessThanOrEqual(max);
      const d = decodeRoutesFrame(f);
      for (const u of d.updates) expect(d.addrs[u.signed.advert.origin]).toEqual(hints(u.signed.advert.origin));
      out.push(...d.updates);
    }
    expect(out.map((u) => u.signed.advert.origin)).toEqual(updates.map((u) => u.signed.advert.origin));
    expect(out[0]?.metricMs).toBe(Infinity);
    expect(out[5]?.signed.advert).toEqual(updates[5]?.signed.advert);
  });

  it('fills frames close to the limit (not one update per frame) and respects the update count bound', () => {
    const small = Array.from({ length: MAX_UPDATES_PER_FRAME + 10 }, (_, i) => wire(`o${i}`, []));
    const { frames } = packRoutesFrames(small, () => undefined, 64 * 1024 * 1024);
    expect(frames.map((f) => decodeRoutesFrame(f).updates.length)).toEqual([MAX_UPDATES_PER_FRAME, 10]);
    const fat = Array.from({ length: 200 }, (_, i) => wire(`o${i}`, [fatModel(i, 1000)]));
    const packed = packRoutesFrames(fat, hints, 64 * 1024);
    for (const f of packed.frames.slice(0, -1)) expect(f.byteLength).toBeGreaterThan(60 * 1024);
  });

  it('an update larger than a frame on its own is skipped and reported; the rest go', () => {
    const updates = [wire('a', []), wire('huge', [fatModel(0, 70_000)]), wire('b', [])];
    const { frames, skipped } = packRoutesFrames(updates, hints, 64 * 1024);
    expect(skipped).toEqual(['huge']);
    expect(frames.flatMap((f) => decodeRoutesFrame(f).updates.map((u) => u.signed.advert.origin))).toEqual(['a', 'b']);
  });

  it('packs byte-for-byte what encodeRoutesFrame writes for the same updates', () => {
    const updates = [wire('a', [fatModel(1, 3)]), wire('b', [])];
    const { frames } = packRoutesFrames(updates, () => undefined, 1 << 20);
    expect(Buffer.from(frames[0] ?? []).toString()).toBe(Buffer.from(encodeRoutesFrame({ updates, addrs: {} })).toString());
  });
});
