// What proves the adverts the routing table holds: the origin's signature per origin/seq (to
// relay the advert unchanged) and a digest of what was verified (a byte-for-byte repeat skips
// the Ed25519 check; a forged twin with the same origin/seq does not). A few recent seqs per
// origin, and everything about an origin is forgotten when the table forgets it (forget()),
// so the cache is bounded by the table's origin cap.
import { createHash } from 'node:crypto';
import type { SignedAdvert } from './routes-messages.ts';

/** Seqs remembered per origin: the table may still hold a slightly older one than the newest. */
const SEQS_PER_ORIGIN = 4;

export class AdvertCache {
  readonly #sigs = new Map<string, Uint8Array>();
  readonly #verified = new Map<string, string>();
  readonly #seqs = new Map<string, number[]>();

  /** SHA-256 over the signature and the signed bytes: 64 hex chars, whatever the advert's size. */
  static digest(s: SignedAdvert, canonical: Uint8Array): string {
    return createHash('sha256').update(s.sig).update(canonical).digest('hex');
  }

  /** Whether exactly this signed advert (same signature over the same bytes) was verified before. */
  isVerified(origin: string, seq: number, digest: string): boolean {
    return this.#verified.get(`${origin}/${seq}`) === digest;
  }

  sig(origin: string, seq: number): Uint8Array | undefined {
    return this.#sigs.get(`${origin}/${seq}`);
  }

  /** Remember a verified advert's signature (once per origin/seq: repeats do not push others out). */
  remember(s: SignedAdvert, digest: string): void {
    const { origin, seq } = s.advert;
    const key = `${origin}/${seq}`;
    if (this.#sigs.has(key)) return;
    this.#sigs.set(key, s.sig);
    this.#verified.set(key, digest);
    const seqs = this.#seqs.get(origin) ?? [];
    seqs.push(seq);
    while (seqs.length > SEQS_PER_ORIGIN) {
      const old = `${origin}/${seqs.shift() ?? -1}`;
      this.#sigs.delete(old);
      this.#verified.delete(old);
    }
    this.#seqs.set(origin, seqs);
  }

  /** Forget everything about an origin (the table dropped it). */
  forget(origin: string): void {
    for (const seq of this.#seqs.get(origin) ?? []) {
      this.#sigs.delete(`${origin}/${seq}`);
      this.#verified.delete(`${origin}/${seq}`);
    }
    this.#seqs.delete(origin);
  }

  origins(): IterableIterator<string> {
    return this.#seqs.keys();
  }

  get size(): { origins: number; sigs: number } {
    return { origins: this.#seqs.size, sigs: this.#sigs.size };
  }
}
