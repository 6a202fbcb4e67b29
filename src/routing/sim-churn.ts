// Random link churn for the simulator (tests and the bench): each event fails a live link (40%),
// brings a failed one back (30%) or gives a live link a new latency (30%), drawn from `rng`.
import { randInt, type Rng } from './rng.ts';
import type { Simulation } from './simulation.ts';

/** A link: its two nodes and its latency (rounds). */
export type SimLink = [number, number, number];

export class LinkChurn {
  /** Links failed by the churn and not yet brought back. */
  readonly failed: SimLink[] = [];
  readonly #sim: Simulation;
  readonly #rng: Rng;

  constructor(sim: Simulation, rng: Rng) {
    this.#sim = sim;
    this.#rng = rng;
  }

  /** `n` random link events (no step of the simulation). */
  events(n: number): void {
    for (let e = 0; e < n; e++) {
      const x = this.#rng();
      const links = this.#sim.links();
      if (x < 0.4 && links.length > 0) {
        const l = links[randInt(this.#rng, links.length)] as SimLink;
        this.#sim.linkDown(l[0], l[1]);
        this.failed.push(l);
      } else if (x < 0.7 && this.failed.length > 0) {
        const [a, b, lat] = this.failed.splice(randInt(this.#rng, this.failed.length), 1)[0] as SimLink;
        this.#sim.linkUp(a, b, lat);
      } else if (links.length > 0) {
        const [a, b] = links[randInt(this.#rng, links.length)] as SimLink;
        this.#sim.linkUp(a, b, 1 + this.#rng() * 40);
      }
    }
  }

  /** Bring every failed link back. */
  restoreAll(): void {
    for (const [a, b, l] of this.failed.splice(0)) this.#sim.linkUp(a, b, l);
  }
}
