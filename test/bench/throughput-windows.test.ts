// The throughput scenario's rounds and the medians and ranges over them
// (bench/scenarios/throughput-windows.ts), and the figures taken within each round.
import { describe, expect, it } from 'vitest';
import { c1Figures, c64Figures } from '../../bench/scenarios/throughput-figures.ts';
import { measureRounds, medianOf, overRounds, roundOrder, type Measured } from '../../bench/scenarios/throughput-windows.ts';

describe('throughput windows', () => {
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

  it('take the floors from the bare servers within each round, and each build\'s cost above them', () => {
    // The bare model server runs 0.5 ms over ORT and the bare relay 0.3 ms over the echo in
    // rounds 1 and 2; round 3 is twice as slow for everything, so the ratios stay.
    const p50: Record<string, number[]> = {
      echo: [0.5, 0.5, 1.0], ort: [0.2, 0.2, 0.4], bareModel: [0.7, 0.7, 1.4], bareInline: [0.6, 0.6, 1.2], bareRelay: [0.8, 0.8, 1.6],
      local: [1.2, 1.2, 2.4], router: [1.8, 1.7, 3.4], beforelocal: [1.3, 1.3, 2.6], beforerouter: [2.0, 2.0, 4.0],
    };
    const metrics: Record<string, number | null> = {};
    c1Figures(metrics, ['before', ''], 3, (key, r) => p50[key]?.[r] ?? null);
    expect(metrics['localOverheadFloorC1Ms']).toBe(0.5);
    expect(metrics['localOverheadFloorVsEchoRtt']).toBe(1);
    expect(metrics['localOverheadInlineFloorVsEchoRtt']).toBe(0.8);
    expect(metrics['hopFloorC1Ms']).toBe(0.3);
    expect(metrics['hopFloorVsEchoRtt']).toBe(0.6);
    // local 1.0 ms over ORT against a floor of 0.5; a hop of 0.6 (0.5, 1.0) against 0.3 (0.3, 0.6).
    expect(metrics['localOverheadAboveFloorC1Ms']).toBe(0.5);
    expect(metrics['localOverheadAboveFloorVsEchoRtt']).toBe(1);
    expect(metrics['hopAboveFloorC1Ms']).toBe(0.3);
    expect(metrics['hopAboveFloorVsEchoRttMin']).toBe(0.4);
    expect(metrics['hopAboveFloorVsEchoRttMax']).toBe(0.6);
    expect(metrics['beforeHopAboveFloorVsEchoRtt']).toBe(0.8);
    // Without the bare servers' windows, no floor and nothing above it.
    const none: Record<string, number | null> = {};
    c1Figures(none, [''], 3, (key, r) => (key.startsWith('bare') ? null : p50[key]?.[r] ?? null));
    expect(none['hopFloorVsEchoRtt']).toBeNull();
    expect(none['hopAboveFloorC1Ms']).toBeNull();
    expect(none['hopVsEchoRtt']).toBe(1);
  });

  it('take each c=64 ratio within a round, for each build', () => {
    const qps: Record<string, number[]> = { echo: [5000, 4000, 6000], local: [2600, 2100, 2900], router: [2000, 1500, 2500], beforelocal: [2500, 2000, 2700], beforerouter: [1500, 1200, 1800] };
    const metrics: Record<string, number | null> = {};
    c64Figures(metrics, ['before', ''], 3, (key, r) => qps[key]?.[r] ?? null);
    expect(metrics['localVsEchoC64']).toBe(0.52);
    expect(metrics['localVsEchoC64Min']).toBe(0.483);
    expect(metrics['localVsEchoC64Max']).toBe(0.525);
    expect(metrics['routerVsEchoC64']).toBe(0.4);
    expect(metrics['beforeLocalVsEchoC64']).toBe(0.5);
    expect(metrics['beforeRouterVsEchoC64']).toBe(0.3);
    expect(metrics['bareRelayVsEchoC64']).toBeNull();
    c64Figures(metrics, [''], 3, (key, r) => (key === 'bareRelay' ? [4000, 3000, 4500][r] ?? null : qps[key]?.[r] ?? null));
    expect(metrics['bareRelayVsEchoC64']).toBe(0.75);
  });
});
