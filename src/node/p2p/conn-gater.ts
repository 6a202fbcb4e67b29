// Applies the connection policy (conn-policy.ts) to libp2p: a ConnectionGater that admits or
// refuses inbound connections (by IP before the handshake, by peer after it) and closes the
// connection a newcomer evicts, plus a periodic sweep back under the limit.
import type { Connection, ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Logger } from '../../logger.ts';
import { admitAddress, admitPeer, overLimit, type Admission, type ConnectionLimits, type ConnView } from './conn-policy.ts';

interface ConnectionSource {
  getConnections(): Connection[];
}

export interface ConnectionGuard {
  readonly gater: ConnectionGater;
  /** The libp2p node whose connections are judged (it exists only after the gater is handed to it). */
  attach(node: ConnectionSource): void;
  /** Close connections beyond maxConnections (unprotected ones only). */
  sweep(): void;
  /** Connections refused and evicted so far. */
  counts(): { refused: number; evicted: number };
}

/** Handshakes admitted and not finished count as connections for this long at most. */
const PENDING_MS = 10_000;

function ipOf(ma: Multiaddr): string | undefined {
  return ma.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')?.value;
}

/**
 * `alwaysProtected`: peers protected whatever the table says (bootstrap peers, an allow-list);
 * `inUse`: peers in use right now (providers and next hops in the routing table), read at each decision.
 */
export function createConnectionGuard(limits: ConnectionLimits, log: Logger, alwaysProtected: (peer: string) => boolean, inUse: () => ReadonlySet<string>): ConnectionGuard {
  return new ConnectionGuardCore(limits, log, alwaysProtected, inUse);
}

class ConnectionGuardCore implements ConnectionGuard {
  readonly gater: ConnectionGater;
  readonly #limits: ConnectionLimits;
  readonly #log: Logger;
  readonly #alwaysProtected: (peer: string) => boolean;
  #node: ConnectionSource | undefined;
  readonly #inUse: () => ReadonlySet<string>;
  readonly #evicting = new Set<string>();
  // Admitted handshakes still in flight: counted, or a burst of them would all see the same count.
  readonly #pending = new Map<MultiaddrConnection, ConnView>();
  #refused = 0;
  #evicted = 0;

  constructor(limits: ConnectionLimits, log: Logger, alwaysProtected: (peer: string) => boolean, inUse: () => ReadonlySet<string>) {
    this.#limits = limits;
    this.#log = log;
    this.#alwaysProtected = alwaysProtected;
    this.#inUse = inUse;
    this.gater = this.#createGater();
  }

  attach(n: ConnectionSource): void { this.#node = n; }

  sweep(): void {
    const { list, byId } = this.#views();
    for (const id of overLimit(list, Date.now(), this.#limits)) this.#evict(byId.get(id), 'over maxConnections');
  }

  counts(): { refused: number; evicted: number } {
    return { refused: this.#refused, evicted: this.#evicted };
  }

  #views(): { list: ConnView[]; byId: Map<string, Connection> } {
    const used = this.#inUse();
    const byId = new Map<string, Connection>();
    const now = Date.now();
    const list: ConnView[] = [];
    for (const [k, v] of this.#pending) {
      if (now - v.openedAt > PENDING_MS) this.#pending.delete(k);
      else list.push(v);
    }
    for (const c of this.#node?.getConnections() ?? []) {
      if (this.#evicting.has(c.id) || c.status !== 'open') continue;
      const peer = c.remotePeer.toString();
      byId.set(c.id, c);
      list.push({
        id: c.id, peer, ip: ipOf(c.remoteAddr), inbound: c.direction === 'inbound', openedAt: c.timeline.open,
        streams: c.streams.length, protected: used.has(peer) || this.#alwaysProtected(peer),
      });
    }
    return { list, byId };
  }

  #evict(conn: Connection | undefined, why: string): void {
    if (conn === undefined) return;
    this.#evicting.add(conn.id);
    this.#evicted++;
    this.#log.info({ peer: conn.remotePeer.toString(), why }, 'closing an idle connection to make room');
    conn.close({ signal: AbortSignal.timeout(500) })
      .catch((e: unknown) => { conn.abort(e instanceof Error ? e : new Error(String(e))); })
      .finally(() => { this.#evicting.delete(conn.id); });
  }

  /** libp2p's gater answers true to DENY. */
  #apply(a: Admission, byId: Map<string, Connection>, what: string): boolean {
    if (!a.allow) {
      this.#refused++;
      this.#log.debug({ what, why: a.why }, 'inbound connection refused');
      return true;
    }
    if (a.evict !== undefined) this.#evict(byId.get(a.evict), `room for ${what}`);
    return false;
  }

  /** A handshake in flight, as the policy sees it (never a victim: it is not a connection yet). */
  #inFlight(maConn: MultiaddrConnection, peer: string): ConnView {
    return { id: `pending-${this.#pending.size}`, peer, ip: ipOf(maConn.remoteAddr), inbound: true, openedAt: Date.now(), streams: 0, protected: true };
  }

  #createGater(): ConnectionGater {
    return {
      denyInboundConnection: (maConn: MultiaddrConnection): boolean => {
        const { list, byId } = this.#views();
        const ip = ipOf(maConn.remoteAddr);
        const deny = this.#apply(admitAddress(ip, list, Date.now(), this.#limits), byId, `a connection from ${ip ?? '?'}`);
        if (!deny) this.#pending.set(maConn, this.#inFlight(maConn, ''));
        return deny;
      },
      denyInboundEncryptedConnection: (peerId: PeerId, maConn: MultiaddrConnection): boolean => {
        const peer = peerId.toString();
        this.#pending.delete(maConn);
        const { list, byId } = this.#views();
        const prot = this.#alwaysProtected(peer) || this.#inUse().has(peer);
        const deny = this.#apply(admitPeer(peer, prot, list, Date.now(), this.#limits), byId, peer);
        if (!deny) this.#pending.set(maConn, this.#inFlight(maConn, peer));
        return deny;
      },
      denyInboundUpgradedConnection: (_peerId: PeerId, maConn: MultiaddrConnection): boolean => {
        this.#pending.delete(maConn); // an open connection from now on
        return false;
      },
    };
  }
}

type GaterMethod = Exclude<keyof ConnectionGater, 'filterMultiaddrForPeer'>;
const GATER_METHODS: readonly GaterMethod[] = [
  'denyDialPeer', 'denyDialMultiaddr', 'denyInboundConnection', 'denyOutboundConnection', 'denyInboundEncryptedConnection',
  'denyOutboundEncryptedConnection', 'denyInboundUpgradedConnection', 'denyOutboundUpgradedConnection',
  'denyInboundRelayReservation', 'denyOutboundRelayedConnection', 'denyInboundRelayedConnection',
];

/**
 * One gater from several (e.g. a trust gater with allow/deny lists, then the connection guard):
 * denied when any denies, asked in order, so a later gater (the guard, which may evict a
 * connection to make room) is consulted only for what the earlier ones admit.
 */
export function combineGaters(...gaters: readonly ConnectionGater[]): ConnectionGater {
  const denies = async (g: ConnectionGater, m: GaterMethod, args: unknown[]): Promise<boolean> => {
    const f: unknown = Reflect.get(g, m);
    return typeof f === 'function' ? (await Reflect.apply(f, g, args)) === true : false;
  };
  const out: Partial<Record<GaterMethod, (...args: unknown[]) => Promise<boolean>>> = {};
  for (const m of GATER_METHODS) {
    if (!gaters.some((g) => Reflect.get(g, m) !== undefined)) continue;
    out[m] = async (...args: unknown[]): Promise<boolean> => {
      for (const g of gaters) if (await denies(g, m, args)) return true;
      return false;
    };
  }
  return out;
}
