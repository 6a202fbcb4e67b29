// The p2p service's public shapes: its settings, its components, and what it shows (peers,
// routes). The service itself is in service.ts, which re-exports these.
import type { PrivateKey } from '@libp2p/interface';
import type { LocalInference } from '../../inference/types.ts';
import type { Logger } from '../../logger.ts';
import type { PeerTrust, ReputationOptions } from '../../routing/reputation.ts';
import type { PeerLimits } from '../../routing/peer-limits.ts';
import type { RoutingTable, RoutingTableOptions } from '../../routing/table.ts';
import type { ProviderAdvert, RouteCandidate, RoutingTableApi } from '../../routing/types.ts';
import type { QueryDispatcher } from '../dispatch.ts';
import type { RoutedDispatcherEvents } from '../route-events.ts';
import type { NodeTracing } from '../tracing/node-tracing.ts';
import type { MembershipOptions } from '../auth/options.ts';
import type { ConnectionLimits } from './conn-policy.ts';
import type { RoutesProtocol } from './routes-protocol.ts';

export interface P2PServiceInit {
  /** Holds the identity key (<dataDir>/peer-key). Ignored when privateKey is given. */
  readonly dataDir: string;
  readonly privateKey?: PrivateKey;
  readonly listen?: readonly string[];
  readonly bootstrap?: readonly string[];
  readonly static?: boolean;
  /** Route only: advertise no local models (still forwards). */
  readonly noModels?: boolean;
  readonly maxConnections?: number;
  /** Connection limits (per IP, per peer, reserve, eviction); default DEFAULT_CONNECTION_LIMITS. */
  readonly connections?: Partial<ConnectionLimits>;
  /** Full-dump and re-sign period; routes expire after holdMs (default 3 refreshes). Default DEFAULT_REFRESH_MS. */
  readonly refreshMs?: number;
  /** RTT and liveness ping period per neighbour (default 5 s; two missed pings hang up). */
  readonly pingEveryMs?: number;
  readonly table?: RoutingTableOptions;
  /** Bounds on peer state and traffic (frames, adverts, origins, dial hints); default DEFAULT_PEER_LIMITS. */
  readonly limits?: PeerLimits;
  readonly maxAttempts?: number;
  /** Largest forward frame, sent and accepted: forwardFrameBytes(the node's maxMessageBytes) (node-defaults.ts). */
  readonly maxForwardFrameBytes?: number;
  /** Observer of route tries (metrics), passed to the routed dispatcher. */
  readonly events?: RoutedDispatcherEvents;
  /** Tracing: a span per forwarded query, parented by its frame's traceparent; absent when off. */
  readonly tracing?: NodeTracing;
  /** Swarm key and peer allow/deny lists (src/node/p2p/membership.ts). */
  readonly members?: MembershipOptions;
  /** Answer re-execution (node.verify): sample rate and float tolerances per model. */
  readonly verify?: { readonly rate: number; readonly tolerances?: Readonly<Record<string, number>> };
  /** Back-off and quarantine periods (tests shorten them). */
  readonly reputation?: ReputationOptions;
}

export interface P2PServiceComponents {
  readonly logger: Logger;
  readonly local: LocalInference;
}

export interface PeerView {
  readonly peerId: string;
  readonly neighbour: boolean;
  readonly rttMs: number | undefined;
  readonly addrs: readonly string[];
  /** This node's view of the peer: ok, demoted or quarantined. */
  readonly trust?: PeerTrust['state'];
}

/** A route with everything GetRoutes shows: metric parts, advert seqno and expiry. */
export interface RouteView extends RouteCandidate {
  /** The model's capabilities, as its origin advertises them. */
  readonly capabilities: readonly string[];
  /** Seqno of the origin's advert this route carries. */
  readonly seq: number;
  /** When the route expires unless refreshed, epoch ms; undefined for local models. */
  readonly expiresAt: number | undefined;
  readonly local: boolean;
  /** The provider's standing in this node's view: ok, demoted (back-off) or quarantined (wrong answers). */
  readonly trust: PeerTrust['state'];
}

export interface P2PService {
  start(): Promise<void>;
  /** Send our withdrawal to every neighbour and stop route exchange; forwarding keeps working. */
  withdraw(): Promise<void>;
  /**
   * Withdraw (if not yet), let queries from neighbours finish for up to graceMs, then close
   * every connection.
   */
  stop(graceMs?: number): Promise<void>;
  /** Throws before start(). */
  peerId(): string;
  multiaddrs(): string[];
  /** Routes queries through the cluster; usable once started. */
  readonly dispatcher: QueryDispatcher;
  peers(): readonly PeerView[];
  routes(): readonly RouteView[];
  adverts(): readonly ProviderAdvert[];
  /** Raw table, for tests and the bench. */
  table(): RoutingTableApi;
  /** Replace the peer allow/deny lists; hangs up on newly refused peers and returns them. */
  updatePeerLists(allow: readonly string[], deny: readonly string[]): Promise<string[]>;
  /** This node's view of its peers' honesty (measured times, demotions, quarantines). */
  trust(): readonly PeerTrust[];
  /** Sizes of the per-origin and per-peer state kept by the routing table and the routes protocol (bounds checks). */
  peerState(): { readonly table: ReturnType<RoutingTable['stateSizes']>; readonly routes: ReturnType<RoutesProtocol['stateSizes']> } | undefined;
}
