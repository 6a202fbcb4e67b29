// Routing contracts. src/routing is pure logic: no sockets, no timers of its own (time is
// passed in as `now`, epoch ms), so a simulator can drive thousands of tables in one process.
// The libp2p layer (src/node/p2p) verifies signatures and feeds verified updates in here.

import type { ExecutionProvider } from '../wire/types.ts';

export type PeerIdString = string;

/**
 * In which role a failing peer is marked down. `peer`: every route to it or through it (our
 * link to it died, or it relayed a forgery). `provider`: only its own models; its model failed
 * or it said it cannot serve, which says nothing about it as a relay toward other providers.
 */
export type DownRole = 'peer' | 'provider';

/** The peer a failed try blames, and in which role. */
export interface Suspect {
  readonly peer: PeerIdString;
  readonly role: DownRole;
}

/** One model (or adapter) a provider offers, as advertised. */
export interface AdvertisedModel {
  readonly name: string;
  readonly version: string;
  readonly capabilities: readonly string[];
  readonly provider: ExecutionProvider;
  /** Price per call, cost units. */
  readonly price: number;
  /** Provider's measured compute latency per call (EWMA), ms. */
  readonly computeMs: number;
  /** Current queue depth + in-flight runs. */
  readonly load: number;
  /** Max concurrent runs + queue length. */
  readonly capacity: number;
  /** Runs the provider executes at once (max concurrent); absent = 1. Queue wait divides by it. */
  readonly concurrency?: number;
  /**
   * The model's tensor signature, so any node can answer KServe ModelMetadata for a model it
   * only routes to (clients such as tritonclient read metadata before they infer).
   */
  readonly io?: AdvertisedSignature;
}

/** A tensor as advertised: name, KServe datatype, shape (-1 = dynamic). */
export interface AdvertisedTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

export interface AdvertisedSignature {
  readonly platform: string;
  readonly inputs: readonly AdvertisedTensor[];
  readonly outputs: readonly AdvertisedTensor[];
}

/**
 * What an origin node says about itself. Signed by the origin (verification happens in
 * src/node/p2p before the table sees it); `seq` increases on every change or refresh, so a
 * stale advert loses. An empty `models` list with a new seq withdraws everything.
 */
export interface ProviderAdvert {
  readonly origin: PeerIdString;
  readonly seq: number;
  readonly models: readonly AdvertisedModel[];
  /** Origin's wall clock when issued, epoch ms (informational). */
  readonly issuedAt: number;
}

/**
 * A distance-vector update for one origin, as sent by a neighbour (Babel-style, RFC 8966):
 * the origin's advert plus the metric and hop count of the neighbour's selected route to it.
 * `metricMs` = Infinity (or `retracted`) means "unreachable through me".
 */
export interface RouteUpdate {
  readonly advert: ProviderAdvert;
  /** Path latency from the sending neighbour to the origin, ms (0 at the origin). */
  readonly metricMs: number;
  /** Hops from the sending neighbour to the origin (0 at the origin). */
  readonly hops: number;
  readonly retracted: boolean;
}

export type PreferPolicy = 'latency' | 'cost' | 'balanced';

/** A caller's constraints for one query, parsed from `plexus.*` request parameters. */
export interface QueryConstraints {
  readonly deadlineMs?: number;      // time budget remaining, ms
  readonly maxCost?: number;
  readonly prefer: PreferPolicy;
  readonly maxHops?: number;
  readonly peer?: PeerIdString;      // pin a provider
  readonly provider?: ExecutionProvider;
  /** Hedge (The Tail at Scale): when the first route has not answered in this many ms, also try the next. */
  readonly hedgeMs?: number;
}

/** One usable way to answer a query, with every metric part. */
export interface RouteCandidate {
  readonly origin: PeerIdString;     // provider that will run the model
  readonly model: string;            // concrete model name at the origin
  readonly version: string;
  readonly nextHop: PeerIdString;    // equals self id when the origin is this node
  readonly hops: number;
  readonly pathLatencyMs: number;    // accumulated link latency (RTT EWMA based)
  readonly computeMs: number;
  readonly queueWaitMs: number;      // estimate from load/capacity and computeMs
  readonly price: number;
  readonly provider: ExecutionProvider;
  /** Expected end-to-end ms = path*2 (there and back) + queue + compute. */
  readonly expectedMs: number;
}

/** Why a selection found nothing: maps to NOT_FOUND / FAILED_PRECONDITION / DEADLINE_EXCEEDED. */
export type SelectionFailure =
  | { readonly reason: 'unknown'; readonly message: string }
  | { readonly reason: 'constraints'; readonly message: string }
  | { readonly reason: 'deadline'; readonly message: string };

export type Selection =
  | { readonly ok: true; readonly candidates: readonly RouteCandidate[] } // best first
  | { readonly ok: false; readonly failure: SelectionFailure };

/**
 * The routing table of one node (implemented in src/routing/table.ts). Pure: the caller
 * passes `now` (epoch ms) and does all I/O; outgoing updates are pulled, not pushed.
 */
export interface RoutingTableApi {
  readonly self: PeerIdString;
  /** Replace this node's own advert (its hosted models); bumps seq. */
  setLocalModels(models: readonly AdvertisedModel[], now: number): ProviderAdvert;
  /** A neighbour connected, with its measured link latency (one-way estimate = RTT/2). */
  neighbourUp(peer: PeerIdString, rttMs: number, now: number): void;
  /** A neighbour's link latency sample (ping RTT or observed request latency). */
  observeLink(peer: PeerIdString, rttMs: number, now: number): void;
  /** A neighbour disconnected or was declared dead: retract every route through it now. */
  neighbourDown(peer: PeerIdString, now: number): void;
  /** Apply a (signature-verified) update received from a neighbour. Returns whether anything changed. */
  applyUpdate(from: PeerIdString, update: RouteUpdate, now: number): boolean;
  /** Drop routes not refreshed within the hold time. Returns whether anything changed. */
  expire(now: number): boolean;
  /** The updates to send to one neighbour (split horizon / poison reverse applied). `full` = all, else only changed since last call. */
  updatesFor(neighbour: PeerIdString, full: boolean): RouteUpdate[];
  /** Choose routes for a query: best first, further ones for failover/hedging. */
  select(modelOrCapability: string, constraints: QueryConstraints, now: number): Selection;
  /** A call to the candidate was sent: it counts as outstanding (least-outstanding, P2C, queue estimate) until its outcome. */
  requestStarted(candidate: RouteCandidate): void;
  /** A started call ended with no outcome to learn from (cancelled): only the outstanding count drops. */
  requestEnded(candidate: RouteCandidate): void;
  /** Feed back an observed outcome (latency or error) for a provider/next hop, for EWMA and error penalties. */
  recordOutcome(candidate: RouteCandidate, outcome: { readonly ok: boolean; readonly latencyMs: number }, now: number): void;
  /** Temporarily mark a peer as failing (excluded from selection until `until`), as a peer (default) or only as a provider. */
  markDown(peer: PeerIdString, until: number, role?: DownRole): void;
  /** Every known route with its metric parts, for inspection (GetRoutes). */
  snapshot(now: number): readonly RouteCandidate[];
  /** Known origins and their adverts (ListCapabilities cluster-wide). */
  adverts(): readonly ProviderAdvert[];
}
