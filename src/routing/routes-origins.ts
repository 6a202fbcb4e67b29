// Per-origin state of the routes protocol beside what the table holds: the signatures that
// prove its adverts (to relay them), the dial hints it came with, when each neighbour last
// offered a route to it, and the dial budget's back-off. All of it goes when the table forgets
// the origin (forget), so it is bounded by the table's origin cap.
import { AdvertCache } from './advert-cache.ts';
import { DialBudget } from './dial-budget.ts';
import type { PeerLimits } from './peer-limits.ts';
import type { SignedAdvert } from './routes-messages.ts';
import type { PeerIdString } from './types.ts';

export class OriginBook {
  // Signatures by origin/seq: the table keeps adverts, we keep what proves them.
  readonly proofs = new AdvertCache();
  readonly dials: DialBudget;
  readonly #addrHints = new Map<PeerIdString, readonly string[]>();
  // origin -> neighbour -> last refresh (for route expiry in GetRoutes; the table keeps its own).
  readonly #heard = new Map<PeerIdString, Map<PeerIdString, number>>();

  constructor(limits: PeerLimits, now: number) {
    this.dials = new DialBudget(limits, now);
  }

  forget(origin: PeerIdString): void {
    this.proofs.forget(origin);
    this.#addrHints.delete(origin);
    this.#heard.delete(origin);
    this.dials.forget(origin);
  }

  /** Forget what is kept about origins `keep` rejects (the table never admitted them). */
  sweep(keep: (origin: PeerIdString) => boolean): void {
    for (const origin of [...this.#addrHints.keys(), ...this.#heard.keys(), ...this.proofs.origins()]) if (!keep(origin)) this.forget(origin);
  }

  remember(signed: SignedAdvert, digest: string): void {
    this.proofs.remember(signed, digest);
  }

  /** `neighbour` offered a live route to `origin` at `now` (live), or retracted it. */
  heardFrom(origin: PeerIdString, neighbour: PeerIdString, now: number, live: boolean): void {
    if (!live) { this.#heard.get(origin)?.delete(neighbour); return; }
    const byNeighbour = this.#heard.get(origin) ?? new Map<PeerIdString, number>();
    byNeighbour.set(neighbour, now);
    this.#heard.set(origin, byNeighbour);
  }

  /** A neighbour went: it no longer offers anything. */
  neighbourGone(neighbour: PeerIdString): void {
    for (const byNeighbour of this.#heard.values()) byNeighbour.delete(neighbour);
  }

  lastHeard(origin: PeerIdString, neighbour: PeerIdString): number | undefined {
    return this.#heard.get(origin)?.get(neighbour);
  }

  setHints(origin: PeerIdString, addrs: readonly string[]): void {
    this.#addrHints.set(origin, addrs);
  }

  hints(origin: PeerIdString): readonly string[] | undefined {
    return this.#addrHints.get(origin);
  }

  get sizes(): { sigs: number; sigOrigins: number; addrHints: number; heard: number; dials: number } {
    return { sigs: this.proofs.size.sigs, sigOrigins: this.proofs.size.origins, addrHints: this.#addrHints.size, heard: this.#heard.size, dials: this.dials.size };
  }
}
