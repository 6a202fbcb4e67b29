// Exponentially weighted moving average of compute time; the first sample seeds it.
export interface Ewma {
  add(sample: number): void;
  /** Current average; 0 before any sample. */
  readonly value: number;
  readonly count: number;
}

export function createEwma(alpha: number): Ewma {
  let value = 0;
  let count = 0;
  return {
    add(sample) {
      value = count === 0 ? sample : alpha * sample + (1 - alpha) * value;
      count++;
    },
    get value() { return value; },
    get count() { return count; },
  };
}
