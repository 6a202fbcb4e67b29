// The libp2p host: TCP + Noise + Yamux, identify and ping, a persistent identity, bootstrap
// dialing with backoff (addresses with or without /p2p/<id>: the Noise handshake tells us
// who answered), and optional dialing of learned peers when not in static mode.
import { createLibp2p } from 'libp2p';
import type { Libp2p, Libp2pOptions } from 'libp2p';
import { coalescingTcp } from './coalesce-writes.ts';
import { quietNoise } from './noise-decoder.ts';
import { lazyWindowYamux } from './yamux-window.ts';
import { identify } from '@libp2p/identify';
import type { Identify } from '@libp2p/identify';
import { ping } from '@libp2p/ping';
import type { Ping } from '@libp2p/ping';
import type { ComponentLogger, ConnectionGater, ConnectionProtector, PrivateKey, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Multiaddr } from '@multiformats/multiaddr';
import { ConfigError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { combineGaters, createConnectionGuard } from './conn-gater.ts';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './conn-policy.ts';
import { DEFAULT_DEGREE_POLICY, mayDialLearned, trimVictim, type DegreePolicy, type NeighbourLinks } from './degree-policy.ts';
import { BootstrapDialer, connectedPeerCount, connectedPeerIds, Timers } from './host-bootstrap.ts';
import { pingPeer } from './muxer-ping.ts';

export type PlexusLibp2p = Libp2p<{ identify: Identify; ping: Ping }>;

export interface HostInit {
  readonly privateKey: PrivateKey;
  /** Listen multiaddrs; default /ip4/127.0.0.1/tcp/0. */
  readonly listen?: readonly string[];
  /** Peers to dial and keep dialing (with backoff) while disconnected. */
  readonly bootstrap?: readonly string[];
  /** Static: dial only bootstrap peers, never learned ones (inbound still accepted). */
  readonly static?: boolean;
  readonly maxConnections?: number;
  /** Per-IP, per-peer, reserve and eviction limits (conn-policy.ts); maxConnections above wins over theirs. */
  readonly connections?: Partial<ConnectionLimits>;
  /** Neighbours to dial up to and trim down to (degree-policy.ts): routes travel hop by hop, and a full mesh costs every node traffic and CPU per peer. */
  readonly degree?: Partial<DegreePolicy>;
  readonly logger: Logger;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Another gater (membership: swarm key, peer lists), asked before the connection guard. */
  readonly connectionGater?: ConnectionGater;
  /** Private network (swarm key): src/node/p2p/membership.ts. */
  readonly connectionProtector?: (components: { logger: ComponentLogger }) => ConnectionProtector;
  /** Peers whose connections are never evicted and may take reserved slots (an allow-list), beside bootstrap peers and peers in use. */
  readonly protectedPeers?: (peer: string) => boolean;
  /** Peers in use (routing-table providers and next hops, neighbours that forward us queries): their connections are never evicted and may take reserved slots. Default: none. */
  readonly peersInUse?: () => ReadonlySet<string>;
  /** The routing table's view of each neighbour's links, for trimming a crowded mesh (degree-policy.ts). Without it the mesh is never trimmed. */
  readonly neighbourLinks?: (now: number) => ReadonlyMap<string, NeighbourLinks>;
}

export interface P2PHost {
  readonly libp2p: PlexusLibp2p;
  readonly peerId: string;
  multiaddrs(): string[];
  /** Peers with at least one open connection. */
  connectedPeers(): string[];
  /**
   * Dial a peer learned from the network (no-op in static mode or at the connection bound).
   * Resolves true once connected, false when the dial failed, undefined when none was tried.
   */
  dialLearned(peer: string, addrs: readonly string[]): Promise<boolean | undefined>;
  /** RTT to a connected peer in ms over its open connection's muxer (muxer-ping.ts); rejects when it does not answer before `signal`. */
  ping(peer: string, signal: AbortSignal): Promise<number>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function parseAddr(s: string, what: string): Multiaddr {
  try {
    return multiaddr(s);
  } catch (e) {
    throw new ConfigError(`${what} '${s}' is not a valid multiaddr (expected e.g. /ip4/127.0.0.1/tcp/4001): ${(e as Error).message}`);
  }
}

/**
 * TCP, Noise and yamux as a node runs them: writes coalesced per tick (coalesce-writes.ts), Noise
 * messages split without exceptions (noise-decoder.ts), yamux window updates at half a window and
 * frames held to the end of a busy turn (yamux-window.ts). The bench builds its bare relay with
 * the same (bench/echo-servers.ts).
 */
export function transportStack(): Pick<Libp2pOptions, 'transports' | 'connectionEncrypters' | 'streamMuxers'> {
  return {
    transports: [coalescingTcp()],
    connectionEncrypters: [quietNoise()],
    // yamux's own keepalive pinged every connection every 30 s: the routes protocol's liveness
    // pings (every 5 s, over the same muxer, muxer-ping.ts) already do that job.
    streamMuxers: [lazyWindowYamux({ enableKeepAlive: false })],
  };
}

/** The libp2p node itself: transports, encryption, muxer, services, connection limits. */
async function buildLibp2p(init: HostInit, listen: readonly string[], maxConnections: number, gater: ConnectionGater): Promise<PlexusLibp2p> {
  return createLibp2p({
    privateKey: init.privateKey,
    start: false,
    addresses: { listen: [...listen] },
    ...transportStack(),
    // libp2p resets more than 5 inbound connections a second from one IP; a cluster joining
    // through one seed (or pods behind one NAT, or many nodes on one host) exceeds that.
    // libp2p's own cap sits a little above ours: the guard (conn-gater.ts) decides who gets the
    // last slots (reserve, per-IP and per-peer limits, eviction of unused connections).
    connectionManager: { maxConnections: maxConnections + 16, inboundConnectionThreshold: 100 },
    connectionGater: init.connectionGater === undefined ? gater : combineGaters(init.connectionGater, gater),
    // Off: it pinged every connection every 10 s on a new stream each time, beside the routes
    // protocol's own RTT pings, and cost ~40% of an idle node's CPU (10 idle daemons: 0.55 ->
    // 0.32 cores). The routes protocol's pings are the liveness check instead (it hangs up on a
    // neighbour that misses two in a row), and their RTTs feed the routing metric.
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ping: ping() },
    ...(init.connectionProtector === undefined ? {} : { connectionProtector: init.connectionProtector }),
  });
}

/** The addresses to dial a learned peer at (each with /p2p/<peer>); bad hints are dropped. */
function learnedAddrs(peer: string, addrs: readonly string[]): Multiaddr[] {
  const mas: Multiaddr[] = [];
  for (const a of addrs) {
    try {
      const m = multiaddr(a);
      mas.push(m.getComponents().some((c) => c.name === 'p2p') ? m : m.encapsulate(`/p2p/${peer}`));
    } catch { /* a bad hint is ignored */ }
  }
  return mas;
}

/** Each connected peer with its oldest open connection's time. */
function peerLinks(libp2p: PlexusLibp2p, isProtected: (peer: string) => boolean): { peer: string; openedAt: number; protected: boolean }[] {
  const opened = new Map<string, number>();
  for (const c of libp2p.getConnections()) {
    if (c.status !== 'open') continue;
    const p = c.remotePeer.toString();
    opened.set(p, Math.min(opened.get(p) ?? Infinity, c.timeline.open));
  }
  return [...opened].map(([peer, openedAt]) => ({ peer, openedAt, protected: isProtected(peer) }));
}

function parsePeer(peer: string): PeerId | undefined {
  try {
    return peerIdFromString(peer);
  } catch {
    return undefined;
  }
}

export async function createHost(init: HostInit): Promise<P2PHost> {
  const listen = init.listen ?? ['/ip4/127.0.0.1/tcp/0'];
  listen.forEach((a) => parseAddr(a, 'listen address'));
  const bootstrap = (init.bootstrap ?? []).map((a) => parseAddr(a, 'bootstrap address'));
  const connLimits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...init.connections, ...(init.maxConnections === undefined ? {} : { maxConnections: init.maxConnections }) };
  const maxConnections = connLimits.maxConnections;
  // Bootstrap peers are protected from eviction (the set is filled in by the bootstrap dialer).
  const bootIds = new Set<string>();
  const alwaysProtected = (peer: string): boolean => bootIds.has(peer) || init.protectedPeers?.(peer) === true;
  const inUse = init.peersInUse ?? ((): ReadonlySet<string> => new Set());
  const links = init.neighbourLinks;
  const guard = createConnectionGuard(connLimits, init.logger, alwaysProtected, inUse);
  const degreeIn: DegreePolicy = { ...DEFAULT_DEGREE_POLICY, ...init.degree };
  const degree: DegreePolicy = { ...degreeIn, targetPeers: Math.min(maxConnections, degreeIn.targetPeers) };
  const log = init.logger;

  const libp2p = await buildLibp2p(init, listen, maxConnections, guard.gater);
  const self = libp2p.peerId.toString();
  guard.attach(libp2p);

  let running = false;
  const timers = new Timers();
  const boot = new BootstrapDialer(libp2p, bootstrap, bootIds, timers, log, { min: init.minBackoffMs ?? 200, max: init.maxBackoffMs ?? 5000 }, degree);
  // One link a sweep at most: the neighbours' route updates catch up before the next.
  const trim = (): void => {
    if (links === undefined) return;
    const now = Date.now();
    const used = inUse();
    const victim = trimVictim(peerLinks(libp2p, (p) => alwaysProtected(p) || used.has(p)), links(now), now, degree);
    if (victim === undefined) return;
    log.debug({ peer: victim, targetPeers: degree.targetPeers }, 'closing a surplus link (the peer keeps enough neighbours and is reachable without it)');
    const id = parsePeer(victim);
    if (id !== undefined) void libp2p.hangUp(id).catch(() => undefined);
  };

  const dialing = new Set<string>();
  return {
    libp2p,
    peerId: self,
    multiaddrs: () => libp2p.getMultiaddrs().map((m) => m.toString()),
    connectedPeers: () => connectedPeerIds(libp2p),
    async dialLearned(peer, addrs) {
      if (!running || init.static === true || peer === self || dialing.has(peer)) return undefined;
      if (!mayDialLearned(connectedPeerCount(libp2p), dialing.size, degree)) return undefined;
      const id = parsePeer(peer);
      if (id === undefined || libp2p.getConnections(id).length > 0) return undefined;
      const mas = learnedAddrs(peer, addrs);
      if (mas.length === 0) return false;
      dialing.add(peer);
      return libp2p.dial(mas, { signal: AbortSignal.timeout(5000) }).then(
        () => { log.debug({ peer }, 'dialled learned peer'); return true; },
        (err: unknown) => { log.debug({ peer, err: (err as Error).message }, 'learned peer dial failed'); return false; },
      ).finally(() => { dialing.delete(peer); });
    },
    ping: (peer, signal) => pingPeer({
      getConnections: (p) => libp2p.getConnections(p),
      protocolPing: (p, sig) => libp2p.services.ping.ping(p, { signal: sig }),
    }, peerIdFromString(peer), signal),
    async start() {
      await libp2p.start();
      running = true;
      boot.start();
      timers.every(5000, () => { guard.sweep(); trim(); });
    },
    async stop() {
      running = false;
      boot.stop();
      timers.clear();
      await libp2p.stop();
    },
  };
}
