// Who may hold one of a node's connection slots (issue 10: "connection limits that an open swarm
// survives"). Pure decisions over a snapshot of the connections; conn-gater.ts applies them to
// libp2p. Without them, 62 identities from one process filled libp2p's maxConnections and a
// new honest node could not join for as long as they stayed.
//
// - per-IP: at most maxInboundPerIp inbound connections from one address;
// - per-peer: at most maxConnectionsPerPeer connections with one peer id;
// - a reserve: the last reservedConnections slots are only for protected peers (allow-listed,
//   bootstrap, in the routing table as a provider or as the next hop of a route);
// - eviction: a newcomer that finds no free slot takes the slot of an unprotected connection
//   (nothing routed through it) that has been open at least evictMinAgeMs, the one with the
//   fewest streams first, then the oldest. With none, the newcomer is refused.

export interface ConnectionLimits {
  /** Connections kept at most (libp2p gets a little headroom above it for handshakes in flight). */
  readonly maxConnections: number;
  /** Of those, slots only peers that are protected (in the table, allow-listed, bootstrap) may take. */
  readonly reservedConnections: number;
  readonly maxInboundPerIp: number;
  readonly maxConnectionsPerPeer: number;
  /** An unprotected connection younger than this is not evicted (a newcomer has time to become a neighbour). */
  readonly evictMinAgeMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 64,
  reservedConnections: 16,
  maxInboundPerIp: 32,
  maxConnectionsPerPeer: 2,
  evictMinAgeMs: 2000,
};

/** One open connection as the policy sees it. */
export interface ConnView {
  readonly id: string;
  readonly peer: string;
  readonly ip: string | undefined;
  readonly inbound: boolean;
  readonly openedAt: number;
  readonly streams: number;
  readonly protected: boolean;
}

export type Admission =
  | { readonly allow: true; readonly evict?: string }
  | { readonly allow: false; readonly why: string };

/** The connection to give up for a newcomer, among `conns` (already filtered by the caller), or undefined. */
export function pickVictim(conns: readonly ConnView[], now: number, limits: ConnectionLimits): ConnView | undefined {
  let best: ConnView | undefined;
  for (const c of conns) {
    if (c.protected || now - c.openedAt < limits.evictMinAgeMs) continue;
    if (best === undefined || c.streams < best.streams || (c.streams === best.streams && c.openedAt < best.openedAt)) best = c;
  }
  return best;
}

/** A raw inbound connection from `ip`, before the handshake (the peer is not known yet). */
export function admitAddress(ip: string | undefined, conns: readonly ConnView[], now: number, limits: ConnectionLimits): Admission {
  if (ip === undefined) return { allow: true };
  const fromIp = conns.filter((c) => c.inbound && c.ip === ip);
  if (fromIp.length < limits.maxInboundPerIp) return { allow: true };
  const victim = pickVictim(fromIp, now, limits);
  if (victim === undefined) return { allow: false, why: `${fromIp.length} inbound connections from ${ip} already (limit ${limits.maxInboundPerIp})` };
  return { allow: true, evict: victim.id };
}

/** An inbound connection once the peer is known (after the Noise handshake). */
export function admitPeer(peer: string, isProtected: boolean, conns: readonly ConnView[], now: number, limits: ConnectionLimits): Admission {
  const same = conns.filter((c) => c.peer === peer).length;
  if (same >= limits.maxConnectionsPerPeer) return { allow: false, why: `${same} connections with ${peer} already (limit ${limits.maxConnectionsPerPeer})` };
  const open = limits.maxConnections - limits.reservedConnections;
  if (conns.length < open || (isProtected && conns.length < limits.maxConnections)) return { allow: true };
  const victim = pickVictim(conns, now, limits);
  if (victim === undefined) return { allow: false, why: `all ${conns.length} connection slots are taken by peers in use` };
  return { allow: true, evict: victim.id };
}

/** Connections to close so that at most maxConnections stay (e.g. after our own dials overshot). */
export function overLimit(conns: readonly ConnView[], now: number, limits: ConnectionLimits): string[] {
  const out: string[] = [];
  let left = [...conns];
  while (left.length > limits.maxConnections) {
    const v = pickVictim(left, now, limits);
    if (v === undefined) break;
    out.push(v.id);
    left = left.filter((c) => c !== v);
  }
  return out;
}
