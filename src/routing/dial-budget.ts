// Which learned peers (origins heard of in route updates) may be dialled now, at their
// unsigned address hints. Hints come from neighbours, so without a budget one frame of fake
// origins could make a node open thousands of connections to ports the sender chose. Bounds:
// at most `hintAddrsPerOrigin` addresses per origin (the caller keeps no more), a node-wide
// rate (token bucket) and in-flight count, and per-origin back-off after a failed dial.
// Pure: `now` is passed in; the routes protocol does the dialling.
import { TokenBucket, type PeerLimits } from './peer-limits.ts';

type DialLimits = Pick<PeerLimits, 'hintDialsPerSecond' | 'hintDialBurst' | 'hintDialsConcurrent' | 'hintBackoffMinMs' | 'hintBackoffMaxMs'>;

interface OriginState {
  /** No dial before this (back-off). */
  notBefore: number;
  failures: number;
}

export class DialBudget {
  readonly #limits: DialLimits;
  readonly #bucket: TokenBucket;
  readonly #origins = new Map<string, OriginState>();
  readonly #inFlight = new Set<string>();

  constructor(limits: DialLimits, now: number) {
    this.#limits = limits;
    this.#bucket = new TokenBucket(limits.hintDialsPerSecond, limits.hintDialBurst, now);
  }

  /** Whether `origin` may be dialled now; if so, the dial is counted as started (call done() after). */
  take(origin: string, now: number): boolean {
    if (this.#inFlight.has(origin) || this.#inFlight.size >= this.#limits.hintDialsConcurrent) return false;
    const st = this.#origins.get(origin);
    if (st !== undefined && now < st.notBefore) return false;
    if (!this.#bucket.take(now)) return false;
    this.#inFlight.add(origin);
    return true;
  }

  /** A dial that take() allowed ended: success clears the back-off, failure doubles it. */
  done(origin: string, ok: boolean, now: number): void {
    this.#inFlight.delete(origin);
    if (ok) { this.#origins.delete(origin); return; }
    const st = this.#origins.get(origin) ?? { notBefore: 0, failures: 0 };
    const wait = Math.min(this.#limits.hintBackoffMaxMs, this.#limits.hintBackoffMinMs * 2 ** st.failures);
    st.failures++;
    st.notBefore = now + wait;
    this.#origins.set(origin, st);
  }

  /** A dial that take() allowed was not attempted after all (already connected, static mode): no back-off. */
  cancel(origin: string): void {
    this.#inFlight.delete(origin);
  }

  /** The origin left the table: forget its back-off (an in-flight dial still ends with done()). */
  forget(origin: string): void {
    this.#origins.delete(origin);
  }

  /** Origins with remembered state (back-off) or a dial in flight. */
  get size(): number {
    return this.#origins.size + this.#inFlight.size;
  }
}
