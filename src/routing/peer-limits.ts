// Bounds on what peers may make a node hold or do (issue 10, "peer state bounded"). Pure: the
// numbers, the advert checks and a token bucket; the routes protocol, the routing table and the
// libp2p host apply them. Every default is defined here, once; config keys under
// `node.p2p.limits` (src/node/options.ts) override them.
import type { ProviderAdvert } from './types.ts';

export interface PeerLimits {
  /**
   * The largest routes frame, bytes: a node never SENDS a larger one (it packs updates by bytes
   * under it) and refuses larger ones it receives. One number for both sides, so two honest
   * nodes with the same setting never strike each other.
   */
  readonly maxFrameBytes: number;
  /** The largest advert (its canonical signed form), bytes; larger ones are refused at intake, so never relayed. */
  readonly maxAdvertBytes: number;
  readonly maxModelsPerAdvert: number;
  /** Capabilities summed over an advert's models. */
  readonly maxCapabilitiesPerAdvert: number;
  /** Origins one neighbour may hold routes for in our table (whatever it relays beyond is ignored). */
  readonly maxOriginsPerNeighbour: number;
  /** Origins the table holds at most; see RoutingTable for the eviction rule. */
  readonly maxOrigins: number;
  /** New (not yet verified) adverts accepted from one neighbour per second, sustained. */
  readonly advertsPerSecond: number;
  /** ... and in a burst (a new neighbour's first full dump). */
  readonly advertBurst: number;
  /** Dial hints kept (and dialled) per origin. */
  readonly hintAddrsPerOrigin: number;
  /** Learned-peer dials this node starts per second, sustained (each to at most hintAddrsPerOrigin addresses). */
  readonly hintDialsPerSecond: number;
  readonly hintDialBurst: number;
  /** Learned-peer dials in flight at once. */
  readonly hintDialsConcurrent: number;
  /** Back-off after a failed dial of an origin's hints: doubles from min to max. */
  readonly hintBackoffMinMs: number;
  readonly hintBackoffMaxMs: number;
}

export const DEFAULT_PEER_LIMITS: PeerLimits = {
  maxFrameBytes: 1024 * 1024,
  maxAdvertBytes: 64 * 1024,
  maxModelsPerAdvert: 64,
  maxCapabilitiesPerAdvert: 256,
  maxOriginsPerNeighbour: 1024,
  maxOrigins: 4096,
  advertsPerSecond: 500,
  advertBurst: 2000,
  hintAddrsPerOrigin: 2,
  hintDialsPerSecond: 2,
  hintDialBurst: 8,
  hintDialsConcurrent: 4,
  hintBackoffMinMs: 2000,
  hintBackoffMaxMs: 300_000,
};

/** Why an advert is refused at intake, or undefined when it is within the limits. */
export function advertViolation(advert: ProviderAdvert, canonicalBytes: number, limits: PeerLimits): string | undefined {
  if (canonicalBytes > limits.maxAdvertBytes) return `advert of ${canonicalBytes} bytes exceeds the limit of ${limits.maxAdvertBytes} bytes`;
  if (advert.models.length > limits.maxModelsPerAdvert) return `advert has ${advert.models.length} models, more than the limit of ${limits.maxModelsPerAdvert}`;
  let caps = 0;
  for (const m of advert.models) caps += m.capabilities.length;
  if (caps > limits.maxCapabilitiesPerAdvert) return `advert has ${caps} capabilities, more than the limit of ${limits.maxCapabilitiesPerAdvert}`;
  return undefined;
}

/** A token bucket: `rate` tokens a second, at most `burst` saved up. `now` is passed in. */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  #tokens: number;
  #at: number;
  constructor(rate: number, burst: number, now: number) {
    this.rate = rate;
    this.burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  /** Take `n` tokens if there are that many; false (and nothing taken) otherwise. */
  take(now: number, n = 1): boolean {
    this.#refill(now);
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Tokens available now. */
  available(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  #refill(now: number): void {
    if (now > this.#at) this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.rate);
    this.#at = Math.max(this.#at, now);
  }
}
