// Membership on real daemons: a private swarm (pre-shared key) admits only peers with the same
// key; a raw libp2p peer without the key, or with another key, cannot complete a connection,
// is refused in milliseconds and logged once per address. Peer allow/deny lists by peer id
// hold inbound and outbound, and a config file edit that denies a connected peer drops it.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { preSharedKey } from '@libp2p/pnet';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { createHost, type P2PHost } from '../../src/node/p2p/host.ts';
import { generateSwarmKey, parseSwarmKey } from '../../src/node/p2p/swarm-key.ts';
import { removeTempDirs, tempDir, waitFor } from './helpers.ts';
import { capturingLogger, startTrustNode, tempFile, type TrustNode } from './trust-helpers.ts';

const nodes: TrustNode[] = [];
const raws: P2PHost[] = [];
afterAll(async () => {
  await Promise.all(raws.map((h) => h.stop()));
  await Promise.all(nodes.map((n) => n.close()));
  removeTempDirs();
});

async function track(n: Promise<TrustNode>): Promise<TrustNode> {
  const node = await n;
  nodes.push(node);
  return node;
}

/**
 * A bare js-libp2p peer with a fresh identity; with `swarmKey`, inside that private network
 * through libp2p's stock pnet protector (so only the node's own checks can cut it short).
 */
async function rawPeer(swarmKey?: string): Promise<P2PHost> {
  const h = await createHost({
    privateKey: await generateKeyPair('Ed25519'), logger: silentLogger(),
    ...(swarmKey === undefined ? {} : { connectionProtector: preSharedKey({ psk: parseSwarmKey(swarmKey, 'test') }) }),
  });
  raws.push(h);
  await h.start();
  return h;
}

/** The dial fails, or its connection is closed by the other side at once; returns the ms it took. */
async function dialFails(h: P2PHost, addr: string): Promise<number> {
  const t0 = performance.now();
  const conn = await h.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  if (conn !== undefined) await waitFor('the connection is dropped', () => conn.status !== 'open', 3000, 5);
  return performance.now() - t0;
}

const connectedTo = (n: TrustNode, peer: string): boolean => n.node.cluster()?.peers().some((p) => p.peerId === peer) === true;

describe('private swarm (pre-shared key)', () => {
  it('members with the key join; a keyless peer and a peer with another key are refused fast, logged once per address', async () => {
    const key = tempFile('swarm.key', generateSwarmKey());
    const { logger, lines } = capturingLogger('warn');
    const a = await track(startTrustNode({ swarmKey: key }, logger));
    const b = await track(startTrustNode({ swarmKey: key, bootstrap: [a.addrs[0] ?? ''] }));
    await waitFor('B learns A\'s models through the private swarm', () => b.node.cluster()?.routes().some((r) => r.origin === a.peerId) === true, 10_000);

    const keyless = await rawPeer();
    const other = await rawPeer(generateSwarmKey());
    const times: number[] = [];
    for (let i = 0; i < 3; i++) times.push(await dialFails(keyless, a.addrs[0] ?? ''));
    times.push(await dialFails(other, a.addrs[0] ?? ''));
    // Refused in the handshake: no identify, no connection left on A.
    expect(connectedTo(a, keyless.peerId)).toBe(false);
    expect(connectedTo(a, other.peerId)).toBe(false);
    // The keyless peer speaks plaintext and is cut at its first bytes; the wrong key at the first
    // bytes after the nonces (its multistream header decrypts to noise), well under the 1.5 s
    // fallback for a peer silent after its nonce and libp2p's 10 s upgrade timeout.
    expect(Math.max(...times), times.map((t) => t.toFixed(0)).join(',')).toBeLessThan(1000);
    // Four refusals from 127.0.0.1, one log line (rate-limited per address).
    await waitFor('the refusal is logged', () => lines.some((l) => String(l.msg).startsWith('peer refused')), 3000);
    await new Promise((r) => setTimeout(r, 300));
    const refused = lines.filter((l) => String(l.msg).startsWith('peer refused'));
    expect(refused).toHaveLength(1);
    expect(refused[0]?.peer).toBe('127.0.0.1');
    // Still serving its members.
    expect(connectedTo(a, b.peerId)).toBe(true);
  });

  it('a key file that is not a swarm key fails the start, naming the flag', async () => {
    const bad = tempFile('swarm.key', 'hello\n');
    await expect(startTrustNode({ swarmKey: bad })).rejects.toThrow(/--swarm-key .*not a swarm key file/);
    await expect(startTrustNode({ swarmKey: path.join(tempDir(), 'missing.key') })).rejects.toThrow(/--swarm-key: cannot read/);
  });
});

describe('peer allow/deny lists', () => {
  it('a denied peer can neither connect in nor be dialled out; an allow-list admits only its peers', async () => {
    const deniedKey = await generateKeyPair('Ed25519');
    const denied = peerIdFromPrivateKey(deniedKey).toString();
    const intruder = await createHost({ privateKey: deniedKey, logger: silentLogger() });
    raws.push(intruder);
    await intruder.start();
    // A is told to bootstrap through the denied peer: the outbound connection is refused too.
    const a = await track(startTrustNode({ denyPeer: [denied], bootstrap: [intruder.multiaddrs()[0] ?? ''] }));
    await dialFails(intruder, a.addrs[0] ?? '');
    await new Promise((r) => setTimeout(r, 500));
    expect(connectedTo(a, denied)).toBe(false);
    expect(intruder.connectedPeers()).not.toContain(a.peerId);

    const friend = await track(startTrustNode({}));
    const outsider = await track(startTrustNode({}));
    // The gate dials both; only the allowed one stays connected.
    const gate = await track(startTrustNode({ allowPeer: [friend.peerId], bootstrap: [friend.addrs[0] ?? '', outsider.addrs[0] ?? ''] }));
    await waitFor('the allowed peer is connected', () => connectedTo(gate, friend.peerId), 10_000);
    const stranger = await rawPeer();
    await dialFails(stranger, gate.addrs[0] ?? '');
    await new Promise((r) => setTimeout(r, 500));
    expect(connectedTo(gate, outsider.peerId)).toBe(false);
    expect(connectedTo(gate, stranger.peerId)).toBe(false);
  });

  it('a config file edit that denies a connected peer hangs up on it at once', async () => {
    const dir = tempDir();
    const config = path.join(dir, 'plexus.yaml');
    writeFileSync(config, 'node:\n  p2p:\n    deny: []\n');
    const a = await track(startTrustNode({ config }));
    const b = await track(startTrustNode({ bootstrap: [a.addrs[0] ?? ''] }));
    await waitFor('B connects to A', () => connectedTo(a, b.peerId), 10_000);
    writeFileSync(config, `node:\n  p2p:\n    deny: [${b.peerId}]\n`);
    const ms = await waitFor('A drops B', () => !connectedTo(a, b.peerId), 5000);
    expect(ms).toBeLessThan(3000);
    // B keeps redialling A (bootstrap), and stays out.
    await new Promise((r) => setTimeout(r, 1000));
    expect(connectedTo(a, b.peerId)).toBe(false);
  });
});
