// The liveness/RTT probe rides the open connection's yamux muxer (no new stream, no ping
// protocol), and fails fast once the peer is gone.
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromString } from '@libp2p/peer-id';
import { createHost, type P2PHost } from '../../../src/node/p2p/host.ts';
import { pingPeer } from '../../../src/node/p2p/muxer-ping.ts';
import { silentLogger } from '../../../src/logger.ts';

const hosts: P2PHost[] = [];
afterEach(async () => { await Promise.all(hosts.splice(0).map((h) => h.stop().catch(() => undefined))); });

async function pair(): Promise<[P2PHost, P2PHost]> {
  const a = await createHost({ privateKey: await generateKeyPair('Ed25519'), logger: silentLogger(), listen: ['/ip4/127.0.0.1/tcp/0'] });
  hosts.push(a);
  await a.start();
  const b = await createHost({ privateKey: await generateKeyPair('Ed25519'), logger: silentLogger(), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [a.multiaddrs()[0] ?? ''] });
  hosts.push(b);
  await b.start();
  const end = Date.now() + 10_000;
  while (b.connectedPeers().length === 0 || a.connectedPeers().length === 0) {
    if (Date.now() > end) throw new Error('hosts did not connect');
    await new Promise((r) => setTimeout(r, 20));
  }
  return [a, b];
}

describe('muxer ping', () => {
  it('answers over the open connection without the ping protocol (which would open a stream)', async () => {
    const [a, b] = await pair();
    const peer = peerIdFromString(a.peerId);
    let protocolPings = 0;
    const rtts: number[] = [];
    for (let i = 0; i < 3; i++) {
      rtts.push(await pingPeer({
        getConnections: (p) => b.libp2p.getConnections(p),
        protocolPing: () => { protocolPings++; return Promise.reject(new Error('the ping protocol was used')); },
      }, peer, AbortSignal.timeout(2000)));
    }
    expect(protocolPings).toBe(0);
    for (const r of rtts) expect(r).toBeGreaterThanOrEqual(0);
    expect(await b.ping(a.peerId, AbortSignal.timeout(2000))).toBeGreaterThanOrEqual(0);
  });

  it('rejects once the peer has stopped', async () => {
    const [a, b] = await pair();
    await a.stop();
    await expect(b.ping(a.peerId, AbortSignal.timeout(2000))).rejects.toThrow();
  });
});
