// Which neighbours a ping tick pings (src/routing/routes-timing.ts pingDue): all of them up to
// pingPeersPerTick, beyond that each one every few ticks, so the ping rate stays about flat.
import { describe, expect, it } from 'vitest';
import { pingDue, routesTiming } from '../../src/routing/routes-timing.ts';

const timing = routesTiming();

function pingsPerNeighbour(neighbours: number, ticks: number): number[] {
  const out = Array.from({ length: neighbours }, () => 0);
  for (let t = 0; t < ticks; t++) for (let i = 0; i < neighbours; i++) if (pingDue(t, i, neighbours, timing)) out[i] = (out[i] ?? 0) + 1;
  return out;
}

describe('ping ticks', () => {
  it('up to pingPeersPerTick neighbours, every one is pinged every tick', () => {
    expect(pingsPerNeighbour(timing.pingPeersPerTick, 6)).toEqual(Array.from({ length: timing.pingPeersPerTick }, () => 6));
  });

  it('with more, each is pinged every ceil(n / pingPeersPerTick) ticks, spread over the ticks, at most every maxPingEveryTicks', () => {
    expect(pingsPerNeighbour(6, 6)).toEqual([3, 3, 3, 3, 3, 3]);
    const perTick = Array.from({ length: 6 }, (_, t) => Array.from({ length: 6 }, (_, i) => pingDue(t, i, 6, timing)).filter(Boolean).length);
    expect(perTick).toEqual([3, 3, 3, 3, 3, 3]);
    expect(pingsPerNeighbour(40, 6).every((n) => n === 6 / timing.maxPingEveryTicks)).toBe(true);
  });
});
