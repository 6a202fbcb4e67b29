// Two real libp2p hosts on loopback (src/node/p2p/host.ts, as a node makes them), the second
// dialled to a sink on the first that gathers every byte it reads: for tests of what the
// installed libp2p stack does with what one stream sends; and one such host alone (startHost).
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import type { Stream } from '@libp2p/interface';
import { Uint8ArrayList } from 'uint8arraylist';
import { createHost, type P2PHost } from '../../../src/node/p2p/host.ts';
import { silentLogger } from '../../../src/logger.ts';

export interface SinkPair {
  /** The listening host (the sink's) and the dialling one. */
  readonly hosts: readonly [P2PHost, P2PHost];
  /** The dialler's stream to the sink. */
  readonly stream: Stream;
  /** Resolves with everything the sink read, once it has read `bytes` bytes. */
  readonly received: Promise<Uint8Array>;
  stop(): Promise<void>;
}

/** A started host on a loopback port, as a node makes one. */
export async function startHost(): Promise<P2PHost> {
  const h = await createHost({ privateKey: await generateKeyPair('Ed25519'), logger: silentLogger(), listen: ['/ip4/127.0.0.1/tcp/0'] });
  await h.start();
  return h;
}

export async function sinkPair(bytes: number): Promise<SinkPair> {
  const a = await startHost();
  const b = await startHost();
  const got = new Uint8ArrayList();
  const received = new Promise<Uint8Array>((resolve) => {
    void a.libp2p.handle('/plexus/test-sink/1.0.0', (s: Stream) => {
      s.addEventListener('message', (e) => { got.append(e.data); if (got.byteLength >= bytes) resolve(got.subarray()); });
    });
  });
  const stream = await b.libp2p.dialProtocol(multiaddr(a.multiaddrs()[0] ?? ''), '/plexus/test-sink/1.0.0', { signal: AbortSignal.timeout(5000) });
  return {
    hosts: [a, b], stream, received,
    async stop() { await Promise.all([a, b].map((h) => h.stop().catch(() => undefined))); },
  };
}

/** The muxer's encrypted connection (Noise's stream) of a host's first connection. */
export function encryptedConnection<T>(h: P2PHost): T {
  return (h.libp2p.getConnections()[0] as unknown as { muxer: { maConn: T } }).muxer.maConn;
}
