// A liveness and RTT probe that costs one yamux PING frame each way on a connection that is
// already open (12 bytes plus Noise framing), where libp2p's ping protocol opens a new stream
// per probe (stream SYN, multistream-select, 32 bytes each way, close): in a 20-node idle
// cluster those per-neighbour streams were most of the remaining control-plane CPU and bytes.
// Falls back to the ping protocol when no open connection has a muxer that pings.
import type { Connection, PeerId } from '@libp2p/interface';

/** What yamux's muxer offers (a class field of libp2p's Connection, not in its interface types). */
interface PingingMuxer { readonly status?: string; ping(options?: { signal?: AbortSignal }): Promise<number> }

function pingingMuxer(conn: Connection): PingingMuxer | undefined {
  const m = (conn as unknown as { muxer?: Partial<PingingMuxer> }).muxer;
  return m !== undefined && typeof m.ping === 'function' && (m.status === undefined || m.status === 'open') ? m as PingingMuxer : undefined;
}

export interface PingSources {
  getConnections(peer: PeerId): Connection[];
  /** libp2p's ping protocol (a new stream): the fallback. */
  protocolPing(peer: PeerId, signal: AbortSignal): Promise<number>;
}

/** Round-trip time to `peer` in ms (Date.now() resolution, like libp2p's ping); rejects on timeout or a closed connection. */
export async function pingPeer(src: PingSources, peer: PeerId, signal: AbortSignal): Promise<number> {
  for (const conn of src.getConnections(peer)) {
    if (conn.status !== 'open') continue;
    const m = pingingMuxer(conn);
    if (m !== undefined) return await m.ping({ signal });
  }
  return await src.protocolPing(peer, signal);
}
