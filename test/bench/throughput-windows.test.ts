// The throughput scenario's A/B order and window means (bench/scenarios/throughput-windows.ts).
import { describe, expect, it } from 'vitest';
import { meanOf, windowOrder } from '../../bench/scenarios/throughput-windows.ts';

describe('throughput windows', () => {
  it('run one build alone, and two as A B B A so a drift over the run weighs on both alike', () => {
    expect(windowOrder(['after'])).toEqual(['after']);
    expect(windowOrder(['before', 'after'])).toEqual(['before', 'after', 'after', 'before']);
    // A linear drift (each window 10% faster than the last) gives both builds the same mean.
    const drift = [100, 110, 120, 130];
    const order = windowOrder(['a', 'b']);
    const of = (x: string): number | null => meanOf(order.flatMap((b, i) => (b === x ? [drift[i]] : [])));
    expect(of('a')).toBe(of('b'));
  });

  it('average windows, and give no figure when a window has none', () => {
    expect(meanOf([1, 2])).toBe(1.5);
    expect(meanOf([1, null])).toBeNull();
    expect(meanOf([])).toBeNull();
  });
});
