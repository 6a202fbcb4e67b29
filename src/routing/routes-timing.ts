// The routes protocol's timing and tolerance constants, as inputs of its state machine
// (src/routing/routes-core.ts): the libp2p adapter arms its timers from these values, the
// core decides with them, and tests pass their own.

export interface RoutesTimingInput {
  /** Periodic full dump and re-sign check. */
  readonly refreshMs?: number | undefined;
  /** Least time between adverts re-signed only because load or compute time moved (default min(1 s, refreshMs)). */
  readonly loadAdvertEveryMs?: number | undefined;
  /** Triggered updates wait this long so a burst of changes goes out as one. */
  readonly debounceMs?: number | undefined;
  /** Route expiry sweep (and the repeat of unanswered seqno requests). */
  readonly expireEveryMs?: number | undefined;
  /** Liveness ping tick (every neighbour is pinged each tick while it has at most pingPeersPerTick neighbours). */
  readonly pingEveryMs?: number | undefined;
  /** Bad frames tolerated from one peer before it is disconnected. */
  readonly maxStrikes?: number | undefined;
}

export interface RoutesTiming {
  readonly refreshMs: number;
  readonly loadAdvertEveryMs: number;
  /** Re-sign at least this often even when nothing changed, so issuedAt stays recent. */
  readonly maxAdvertAgeMs: number;
  readonly debounceMs: number;
  readonly expireEveryMs: number;
  readonly pingEveryMs: number;
  /**
   * With more neighbours than this, each is pinged every ceil(neighbours / this) ticks, at most
   * every maxPingEveryTicks: a node's ping rate stays about flat as its neighbours grow (each
   * ping wakes both ends; in a 20-node idle cluster pings were a fifth of a node's CPU). A
   * crashed neighbour is found by its connection closing, not by pings; a hung one is hung up
   * on after missedPingsToHangUp pings, so later with many neighbours (20 s at 5-8, 30 s beyond).
   */
  readonly pingPeersPerTick: number;
  readonly maxPingEveryTicks: number;
  readonly maxStrikes: number;
  /**
   * Pings in a row a neighbour may miss before we hang up on it. These pings are the liveness
   * check (libp2p's connection monitor is off, see host.ts): a frozen or half-open peer's routes
   * and forwarded queries fail over instead of waiting for TCP to notice.
   */
  readonly missedPingsToHangUp: number;
  /** At most one re-sign for seqno requests per this many ms (a request storm is not an update storm). */
  readonly seqnoBumpMinMs: number;
  /** How far a seqno request may travel toward its origin. */
  readonly seqnoRequestHops: number;
  /** A ping without an answer in this long counts as missed. */
  readonly pingTimeoutMs: number;
  /** Opening a neighbour's routes stream gives up after this long. */
  readonly openTimeoutMs: number;
  /** A routes stream that closed while the connection lives is reopened after this long. */
  readonly reopenDelayMs: number;
}

/**
 * How often a node re-sends its routes when nothing changed (node.routing.refreshMs); node-defaults.ts
 * re-exports it. Changes are sent at once (triggered updates), so the periodic dump only keeps routes
 * alive: at 2 s it was most of an idle node's CPU in a 20-node cluster, 30 s is the idle bench
 * scenario's figure. Dead peers are found by disconnects and missed pings, not by expiry.
 */
export const DEFAULT_REFRESH_MS = 30_000;

/** The compiled timing: every default of the routes protocol is here. */
export function routesTiming(input: RoutesTimingInput = {}): RoutesTiming {
  const refreshMs = input.refreshMs ?? DEFAULT_REFRESH_MS;
  return {
    refreshMs,
    // Load and compute time alone re-sign at most this often: under load they move every poll,
    // and each new seq is verified by every node (a 20-node cluster on 2 cores fell behind).
    loadAdvertEveryMs: input.loadAdvertEveryMs ?? Math.min(1000, refreshMs),
    maxAdvertAgeMs: refreshMs * 30,
    debounceMs: input.debounceMs ?? 50,
    expireEveryMs: input.expireEveryMs ?? 250,
    pingEveryMs: input.pingEveryMs ?? 5000,
    pingPeersPerTick: 4,
    maxPingEveryTicks: 3,
    maxStrikes: input.maxStrikes ?? 3,
    missedPingsToHangUp: 2,
    seqnoBumpMinMs: 100,
    seqnoRequestHops: 16,
    pingTimeoutMs: 2000,
    openTimeoutMs: 5000,
    reopenDelayMs: 100,
  };
}

/** Whether the neighbour at `index` (of `neighbours`) is pinged at ping tick `tick` (see pingPeersPerTick). */
export function pingDue(tick: number, index: number, neighbours: number, timing: Pick<RoutesTiming, 'pingPeersPerTick' | 'maxPingEveryTicks'>): boolean {
  const every = Math.min(timing.maxPingEveryTicks, Math.max(1, Math.ceil(neighbours / timing.pingPeersPerTick)));
  return (tick + index) % every === 0;
}
