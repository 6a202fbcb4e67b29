// The throughput scenario's A/B order, its c=1 rounds and its window means and medians
// (bench/scenarios/throughput-windows.ts), and the c=1 figures taken within each round.
import { describe, expect, it } from 'vitest';
import { c1Figures } from '../../bench/scenarios/throughput.ts';
import { measureRounds, meanOf, medianOf, overRounds, roundOrder, windowOrder, type Measured } from '../../bench/scenarios/throughput-windows.ts';

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

  it('rotate the targets each round, so each runs first, last and between the others', async () => {
    expect([0, 1, 2, 3].map((r) => roundOrder(['a', 'b', 'c'], r).join(''))).toEqual(['abc', 'bca', 'cab', 'abc']);
    expect(roundOrder([], 3)).toEqual([]);
    const ran: string[] = [];
    const window = (t: string): Promise<Measured> => {
      ran.push(t);
      return Promise.resolve({ load: { p50: ran.length } as unknown as Measured['load'], cpuMsPerQuery: {}, syscallsPerQuery: {}, tcpSegmentsPerQuery: null, rssMb: {} });
    };
    const got = await measureRounds(['a', 'b'], 3, window);
    expect(ran.join('')).toBe('abbaab');
    expect(got.get('a')?.length).toBe(3);
  });

  it('take medians and ranges over the rounds, and give no figure when a round has none', () => {
    expect(medianOf([3, 1, 2])).toBe(2);
    expect(medianOf([4, 1, 3, 2])).toBe(2.5);
    expect(medianOf([1, null])).toBeNull();
    expect(medianOf([])).toBeNull();
    expect(overRounds(3, (r) => [1.2, 0.9, 5][r] ?? null)).toEqual({ median: 1.2, min: 0.9, max: 5 });
    expect(overRounds(2, (r) => (r === 0 ? 1 : null))).toEqual({ median: null, min: 1, max: 1 });
  });

  it('take each c=1 figure within a round, so a slow round moves both sides of a difference', () => {
    // Round 2 is slow for every target alike: the hop and the overhead stay what they are.
    const p50: Record<string, number[]> = { echo: [0.5, 0.5, 1.0], ort: [0.2, 0.2, 0.4], local: [1.2, 1.2, 2.4], router: [1.8, 1.7, 3.4], beforelocal: [1.3, 1.3, 2.6], beforerouter: [2.0, 2.0, 4.0] };
    const metrics: Record<string, number | null> = {};
    c1Figures(metrics, ['before', ''], 3, (key, r) => p50[key]?.[r] ?? null);
    expect(metrics['hopC1Ms']).toBe(0.6);
    expect(metrics['hopVsEchoRtt']).toBe(1);
    expect(metrics['hopVsEchoRttMin']).toBe(1);
    expect(metrics['hopVsEchoRttMax']).toBe(1.2);
    expect(metrics['localOverheadVsEchoRtt']).toBe(2);
    expect(metrics['localOverheadC1Ms']).toBe(1);
    expect(metrics['beforeHopVsEchoRtt']).toBe(1.4);
    expect(metrics['beforeLocalOverheadVsEchoRtt']).toBe(2.2);
  });
});
