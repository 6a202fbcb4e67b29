// Per-peer state of the routes protocol: the neighbours (link RTT, since when, missed liveness
// pings), bad-frame strikes, and the rate at which each peer's new adverts are verified.
// Pure: times are passed in; the adapter hangs up and pings.
import { TokenBucket, type PeerLimits } from './peer-limits.ts';
import type { PeerIdString } from './types.ts';

export interface NeighbourState {
  rttMs: number;
  readonly since: number;
  /** Pings in a row that got no answer. */
  missedPings: number;
}

/** What a ping's outcome means: `stale` (the neighbour went or came back since), `ok`, `missed` (tolerated), `hang-up`. */
export type PingVerdict = 'stale' | 'ok' | 'missed' | 'hang-up';

export class PeerBook {
  readonly #neighbours = new Map<PeerIdString, NeighbourState>();
  readonly #strikes = new Map<PeerIdString, number>();
  // New adverts (signatures to verify) accepted per neighbour and second.
  readonly #advertRate = new Map<PeerIdString, TokenBucket>();
  readonly #limits: Pick<PeerLimits, 'advertsPerSecond' | 'advertBurst'>;
  readonly #maxStrikes: number;
  readonly #missedToHangUp: number;

  constructor(limits: Pick<PeerLimits, 'advertsPerSecond' | 'advertBurst'>, maxStrikes: number, missedPingsToHangUp: number) {
    this.#limits = limits;
    this.#maxStrikes = maxStrikes;
    this.#missedToHangUp = missedPingsToHangUp;
  }

  up(peer: PeerIdString, rttMs: number, now: number): NeighbourState {
    const n: NeighbourState = { rttMs, since: now, missedPings: 0 };
    this.#neighbours.set(peer, n);
    return n;
  }

  /** Remove a neighbour; its state, or undefined when it was none. */
  down(peer: PeerIdString): NeighbourState | undefined {
    const n = this.#neighbours.get(peer);
    this.#neighbours.delete(peer);
    return n;
  }

  get(peer: PeerIdString): NeighbourState | undefined {
    return this.#neighbours.get(peer);
  }

  has(peer: PeerIdString): boolean {
    return this.#neighbours.has(peer);
  }

  entries(): [PeerIdString, NeighbourState][] {
    return [...this.#neighbours];
  }

  clear(): void {
    this.#neighbours.clear();
  }

  /** One more bad frame from `peer`; `hangUp` once it reached the tolerated count. */
  strike(peer: PeerIdString): { strikes: number; hangUp: boolean } {
    const n = (this.#strikes.get(peer) ?? 0) + 1;
    this.#strikes.set(peer, n);
    return { strikes: n, hangUp: n >= this.#maxStrikes };
  }

  /** Whether one more new advert from `peer` may be verified now (token bucket per peer). */
  takeAdvertToken(peer: PeerIdString, now: number): boolean {
    let bucket = this.#advertRate.get(peer);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.#limits.advertsPerSecond, this.#limits.advertBurst, now);
      this.#advertRate.set(peer, bucket);
    }
    return bucket.take(now);
  }

  /** The connection went: forget its strikes and rate, so the maps stay bounded. */
  disconnected(peer: PeerIdString): void {
    this.#strikes.delete(peer);
    this.#advertRate.delete(peer);
  }

  /** A liveness ping to `n` (the state it had when sent) ended with `rttMs`, or undefined when unanswered. */
  ping(peer: PeerIdString, n: NeighbourState, rttMs: number | undefined): PingVerdict {
    if (this.#neighbours.get(peer) !== n) return 'stale';
    if (rttMs === undefined) {
      n.missedPings++;
      return n.missedPings >= this.#missedToHangUp ? 'hang-up' : 'missed';
    }
    n.missedPings = 0;
    n.rttMs = rttMs;
    return 'ok';
  }

  get sizes(): { rateBuckets: number; strikes: number } {
    return { rateBuckets: this.#advertRate.size, strikes: this.#strikes.size };
  }
}
