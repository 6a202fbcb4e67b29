// The routing table's change log: origins in order of change. Each neighbour keeps a cursor
// into it and is sent only what changed since (incremental updates); entries every neighbour
// has seen are dropped, and a neighbour lagging too far gets a full dump instead.
import type { PeerIdString } from './types.ts';

export class ChangeLog {
  #entries: PeerIdString[] = [];
  #base = 0;

  /** Position of the first entry still kept. */
  get base(): number {
    return this.#base;
  }

  /** Position after the last entry. */
  end(): number {
    return this.#base + this.#entries.length;
  }

  get length(): number {
    return this.#entries.length;
  }

  /** Append a change of `origin`; its position. */
  push(origin: PeerIdString): number {
    this.#entries.push(origin);
    return this.end() - 1;
  }

  at(pos: number): PeerIdString | undefined {
    return this.#entries[pos - this.#base];
  }

  /** Drop entries every cursor has passed; keep at most max(1024, 4 × (origins + 1)) entries. */
  trim(cursors: Iterable<number>, origins: number): void {
    if (this.#entries.length < 64) return;
    let min = this.end();
    for (const c of cursors) if (c < min && c >= this.#base) min = c;
    const cap = Math.max(1024, 4 * (origins + 1));
    if (this.#entries.length - (min - this.#base) > cap) min = this.end() - cap;
    const drop = min - this.#base;
    if (drop * 2 < this.#entries.length) return;
    this.#entries = this.#entries.slice(drop);
    this.#base = min;
  }
}
