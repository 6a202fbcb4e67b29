import { describe, it, expect, afterEach } from 'vitest';
import { mkdtemp, stat, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreatePeerKey, PEER_KEY_FILE } from '../../../src/node/p2p/identity.ts';
import { createHost } from '../../../src/node/p2p/host.ts';
import type { P2PHost } from '../../../src/node/p2p/host.ts';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { readFrames, sendFrame } from '../../../src/node/p2p/framing.ts';
import { silentLogger } from '../../../src/logger.ts';

const hosts: P2PHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('identity', () => {
  it('persists the peer key with mode 0600 and reloads the same peer id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plexus-id-'));
    try {
      const a = peerIdFromPrivateKey(await loadOrCreatePeerKey(dir)).toString();
      const st = await stat(join(dir, PEER_KEY_FILE));
      expect(st.mode & 0o777).toBe(0o600);
      const b = peerIdFromPrivateKey(await loadOrCreatePeerKey(dir)).toString();
      expect(b).toBe(a);
      expect(a.startsWith('12D3KooW')).toBe(true); // Ed25519
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a restarted host keeps its peer id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plexus-id-'));
    try {
      const h1 = await createHost({ privateKey: await loadOrCreatePeerKey(dir), logger: silentLogger() });
      await h1.start();
      const id = h1.peerId;
      await h1.stop();
      const h2 = await createHost({ privateKey: await loadOrCreatePeerKey(dir), logger: silentLogger() });
      hosts.push(h2);
      await h2.start();
      expect(h2.peerId).toBe(id);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('host', () => {
  it('dials a bootstrap address without a peer id, and frames survive the trip', async () => {
    const dirA = await mkdtemp(join(tmpdir(), 'plexus-h-'));
    const keyB = await loadOrCreatePeerKey(dirA);
    const b = await createHost({ privateKey: keyB, logger: silentLogger() });
    hosts.push(b);
    await b.start();
    const addr = b.multiaddrs()[0]!.replace(/\/p2p\/.*$/, '');
    const got: Uint8Array[] = [];
    await b.libp2p.handle('/test/echo/1', (stream) => {
      readFrames(stream, 1 << 20, { onFrame: (f) => { got.push(f); void sendFrame(stream, [f, f]); }, onOversize: () => { stream.abort(new Error('big')); } });
    });
    const { generateKeyPair } = await import('@libp2p/crypto/keys');
    const a = await createHost({ privateKey: await generateKeyPair('Ed25519'), bootstrap: [addr], logger: silentLogger() });
    hosts.push(a);
    await a.start();
    await waitFor(() => a.connectedPeers().includes(b.peerId), 5000);
    const s = await a.libp2p.dialProtocol(b.libp2p.peerId, '/test/echo/1');
    const replies: Uint8Array[] = [];
    readFrames(s, 1 << 20, { onFrame: (f) => replies.push(f), onOversize: () => undefined });
    await sendFrame(s, [new Uint8Array([1, 2]), new Uint8Array([3])]);
    await waitFor(() => replies.length === 1, 2000);
    expect([...got[0]!]).toEqual([1, 2, 3]);
    expect([...replies[0]!]).toEqual([1, 2, 3, 1, 2, 3]);
    // A frame above one Noise message goes as a list of views (small ones are coalesced): same bytes.
    const big = [new Uint8Array(70_000), new Uint8Array(0), new Uint8Array(50_001)];
    for (const part of big) for (let i = 0; i < part.length; i++) part[i] = (i * 31 + part.length) & 0xff;
    await sendFrame(s, big);
    await waitFor(() => replies.length === 2, 5000);
    const want = Buffer.concat(big);
    expect(Buffer.from(got[1]!).equals(want)).toBe(true);
    expect(Buffer.from(replies[1]!).equals(Buffer.concat([want, want]))).toBe(true);
    await rm(dirA, { recursive: true, force: true });
  });
});
