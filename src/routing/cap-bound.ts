// Per-capability bound on what a node advertises (RoutingTable option maxOriginsPerCapability):
// a node passes on routes only to the k origins with the best metric for each model name or
// capability they offer; the others go out as retractions once and are then left out of full
// dumps. What a node holds is then bounded by degree × k × (names it hears of), and what it sends
// by k per name, however many providers a capability has.
//
// Why nothing is lost: with additive metrics, if origin O is among a node X's k best for a
// capability, it is among the k best of X's next hop N toward O (were k others better at N,
// they would be better at X too, through N). So every node still learns its own k best, and a
// retraction is always loop-safe in Babel (RFC 8966), so leaving the set is too.
import type { PeerIdString } from './types.ts';

/** Default k: the dispatcher tries up to 3 providers per query plus a hedge, with room to spread load (see README "Control plane at scale"). */
export const DEFAULT_ORIGINS_PER_CAPABILITY = 8;

export class CapabilityTopK {
  readonly k: number;
  readonly #metric = new Map<string, Map<PeerIdString, number>>();
  readonly #kept = new Map<string, Set<PeerIdString>>();
  readonly #keysOf = new Map<PeerIdString, readonly string[]>();

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`maxOriginsPerCapability must be an integer ≥ 1, got ${k}`);
    this.k = k;
  }

  /** Whether the origin is among the k best for at least one of its names (advertised onward). */
  advertised(origin: PeerIdString): boolean {
    for (const key of this.#keysOf.get(origin) ?? []) if (this.#kept.get(key)?.has(origin) === true) return true;
    return false;
  }

  /**
   * The origin's metric is now `metric` (Infinity: no route) for `keys` (its model names and
   * capabilities; [] forgets it). Returns the origins whose advertised() changed.
   */
  update(origin: PeerIdString, keys: readonly string[], metric: number): PeerIdString[] {
    const old = this.#keysOf.get(origin) ?? [];
    const touched = new Set([...old, ...keys]);
    const before = new Map<PeerIdString, boolean>();
    const watch = (o: PeerIdString): void => { if (!before.has(o)) before.set(o, this.advertised(o)); };
    watch(origin);
    for (const key of touched) for (const o of this.#kept.get(key) ?? []) watch(o);
    for (const key of old) if (!keys.includes(key)) this.#metric.get(key)?.delete(origin);
    if (keys.length === 0 || metric === Infinity) {
      for (const key of keys) this.#metric.get(key)?.delete(origin);
    } else {
      for (const key of keys) {
        let m = this.#metric.get(key);
        if (m === undefined) { m = new Map(); this.#metric.set(key, m); }
        m.set(origin, metric);
      }
    }
    if (keys.length === 0) this.#keysOf.delete(origin); else this.#keysOf.set(origin, keys);
    for (const key of touched) {
      const kept = this.#best(key);
      for (const o of kept) watch(o);
      if (kept.size === 0) { this.#kept.delete(key); this.#metric.delete(key); } else this.#kept.set(key, kept);
    }
    const flipped: PeerIdString[] = [];
    for (const [o, was] of before) if (this.advertised(o) !== was) flipped.push(o);
    return flipped;
  }

  /** Names tracked (for tests and the memory estimate). */
  get keys(): number {
    return this.#metric.size;
  }

  /** The k lowest metrics (ties: the smaller origin id), in one pass. */
  #best(key: string): Set<PeerIdString> {
    const top: [number, PeerIdString][] = [];
    const worse = (a: [number, PeerIdString], b: [number, PeerIdString]): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
    for (const [o, m] of this.#metric.get(key) ?? []) {
      const c: [number, PeerIdString] = [m, o];
      if (top.length === this.k && !worse(top[top.length - 1] as [number, PeerIdString], c)) continue;
      let i = top.length === this.k ? top.length - 1 : top.length;
      top[i] = c;
      while (i > 0 && worse(top[i - 1] as [number, PeerIdString], c)) { top[i] = top[i - 1] as [number, PeerIdString]; top[i - 1] = c; i--; }
    }
    return new Set(top.map(([, o]) => o));
  }
}

/** What an advert is looked up by: its models' names and capabilities ('' for an origin with none). */
export function advertKeys(models: readonly { readonly name: string; readonly capabilities: readonly string[] }[]): string[] {
  const keys = new Set<string>();
  for (const m of models) { keys.add(m.name); for (const c of m.capabilities) keys.add(c); }
  return keys.size === 0 ? [''] : [...keys];
}
