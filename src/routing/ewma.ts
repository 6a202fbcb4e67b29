// Time-aware moving averages for link latency, observed request latency and error rates,
// plus the queue-wait estimate used to score a provider.

export interface EwmaOptions {
  /** Time constant, ms: a sample's weight fades as exp(-age / tauMs). */
  readonly tauMs: number;
  /** Peak mode (Finagle's peak EWMA): a sample above the average replaces it at once, so a slow spell shows immediately and fades only with time. */
  readonly peak?: boolean;
  /** When set, the value read drifts back to this with time (an error rate forgets old failures). */
  readonly restValue?: number;
  /** Smallest weight of a new sample, so samples arriving in a burst (dt ≈ 0) still count. */
  readonly minAlpha?: number;
}

/** Exponentially weighted moving average whose weights decay with elapsed time, not sample count. */
export class Ewma {
  readonly #tauMs: number;
  readonly #peak: boolean;
  readonly #rest: number | undefined;
  readonly #minAlpha: number;
  #value = 0;
  #at = 0;
  #has = false;

  constructor(options: EwmaOptions) {
    this.#tauMs = Math.max(1, options.tauMs);
    this.#peak = options.peak ?? false;
    this.#rest = options.restValue;
    this.#minAlpha = options.minAlpha ?? 0.2;
  }

  /** Time of the latest sample, epoch ms (0 before any). */
  get lastAt(): number {
    return this.#at;
  }

  get hasValue(): boolean {
    return this.#has;
  }

  observe(sample: number, now: number): void {
    if (!Number.isFinite(sample)) return;
    if (!this.#has) {
      this.#value = sample;
      this.#at = now;
      this.#has = true;
      return;
    }
    const current = this.get(now) ?? sample;
    if (this.#peak && sample > current) {
      this.#value = sample;
    } else {
      const dt = Math.max(0, now - this.#at);
      const alpha = Math.max(this.#minAlpha, 1 - Math.exp(-dt / this.#tauMs));
      this.#value = current + alpha * (sample - current);
    }
    this.#at = Math.max(this.#at, now);
  }

  /** The average at `now` (decayed toward the rest value if one is set); undefined before any sample. */
  get(now: number): number | undefined {
    if (!this.#has) return undefined;
    if (this.#rest === undefined) return this.#value;
    const w = Math.exp(-Math.max(0, now - this.#at) / this.#tauMs);
    return this.#rest + (this.#value - this.#rest) * w;
  }
}

/**
 * Expected wait before a call starts at a provider: the work ahead of it (advertised queue +
 * in-flight, plus calls this node has outstanding there that the advert may not show yet)
 * times the compute time, shared over `concurrency` runners. A provider at or over capacity
 * will likely reject the call (QueueFull), so it gets a whole queue's worth of extra wait.
 */
export function estimateQueueWaitMs(
  load: number, capacity: number, computeMs: number, outstanding: number, concurrency = 1,
): number {
  const ahead = Math.max(0, load) + Math.max(0, outstanding);
  const compute = Math.max(0, computeMs);
  let wait = (ahead * compute) / Math.max(1, concurrency);
  if (capacity > 0 && ahead >= capacity) wait += capacity * compute;
  return wait;
}
