// The host's dialling of its bootstrap peers: one reconnect loop per address, with backoff, while
// the node has fewer neighbours than the degree policy's target (degree-policy.ts); and the
// unref'd timers the host keeps.
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Logger } from '../../logger.ts';
import { mayRedialBootstrap, type DegreePolicy } from './degree-policy.ts';
import type { Libp2p } from 'libp2p';

type PlexusLibp2p = Pick<Libp2p, 'getConnections' | 'dial' | 'addEventListener'>;

/** Peers with at least one open connection (a peer may hold several). */
export function connectedPeerIds(libp2p: Pick<Libp2p, 'getConnections'>): string[] {
  return [...new Set(libp2p.getConnections().map((c) => c.remotePeer.toString()))];
}

export function connectedPeerCount(libp2p: Pick<Libp2p, 'getConnections'>): number {
  return connectedPeerIds(libp2p).length;
}

/** Unref'd timers, all cleared at stop. */
export class Timers {
  readonly #set = new Set<NodeJS.Timeout>();

  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => { this.#set.delete(t); fn(); }, ms);
    t.unref();
    this.#set.add(t);
  }

  every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#set.add(t);
  }

  clear(): void {
    for (const t of this.#set) clearTimeout(t);
    this.#set.clear();
  }
}

/**
 * One reconnect loop per bootstrap address. The peer id is learned on the first success
 * when the address has none; a closed connection schedules the next dial.
 */
export class BootstrapDialer {
  readonly #libp2p: PlexusLibp2p;
  readonly #addrs: readonly Multiaddr[];
  readonly #peers: (PeerId | undefined)[];
  readonly #ids: Set<string>;
  readonly #timers: Timers;
  readonly #log: Logger;
  readonly #minBackoff: number;
  readonly #maxBackoff: number;
  readonly #degree: DegreePolicy;
  #running = false;

  constructor(libp2p: PlexusLibp2p, addrs: readonly Multiaddr[], ids: Set<string>, timers: Timers, log: Logger, backoff: { min: number; max: number }, degree: DegreePolicy) {
    this.#libp2p = libp2p;
    this.#addrs = addrs;
    this.#ids = ids;
    this.#timers = timers;
    this.#log = log;
    this.#minBackoff = backoff.min;
    this.#maxBackoff = backoff.max;
    this.#degree = degree;
    this.#peers = addrs.map((ma) => {
      const id = ma.getComponents().find((c) => c.name === 'p2p')?.value;
      if (id !== undefined) ids.add(id);
      return id === undefined ? undefined : peerIdFromString(id);
    });
    // A bootstrap peer that disconnects is redialed promptly rather than at the next check.
    libp2p.addEventListener('peer:disconnect', (evt) => {
      const i = this.#peers.findIndex((p) => p?.equals(evt.detail) === true);
      if (i >= 0 && this.#running) this.#timers.later(this.#minBackoff, () => { this.#dial(i, this.#minBackoff); });
    });
  }

  start(): void {
    this.#running = true;
    this.#addrs.forEach((_, i) => { this.#dial(i, this.#minBackoff); });
  }

  stop(): void {
    this.#running = false;
  }

  #dial(i: number, backoff: number): void {
    if (!this.#running) return;
    const ma = this.#addrs[i];
    if (ma === undefined) return;
    const known = this.#peers[i];
    const again = (ms: number, next: number): void => { this.#timers.later(ms, () => { this.#dial(i, next); }); };
    // Connected, or enough neighbours without it (the bootstrap peer is for joining and rejoining).
    if (known !== undefined && (this.#libp2p.getConnections(known).length > 0 || !mayRedialBootstrap(connectedPeerCount(this.#libp2p), this.#degree))) {
      again(this.#maxBackoff, this.#minBackoff);
      return;
    }
    this.#libp2p.dial(ma, { signal: AbortSignal.timeout(5000) }).then((conn) => {
      this.#peers[i] = conn.remotePeer;
      this.#ids.add(conn.remotePeer.toString());
      this.#log.debug({ peer: conn.remotePeer.toString(), addr: ma.toString() }, 'bootstrap peer connected');
      again(this.#maxBackoff, this.#minBackoff);
    }, (err: unknown) => {
      this.#log.debug({ addr: ma.toString(), err: (err as Error).message, backoff }, 'bootstrap dial failed, retrying');
      again(backoff, Math.min(backoff * 2, this.#maxBackoff));
    });
  }
}

