// How many neighbours a node keeps (src/node/p2p/degree-policy.ts): dials up to the target,
// bootstrap redials below it, and which surplus link is closed (never a protected, young,
// bridging one, nor one whose peer would fall below the target and dial again).
import { describe, expect, it } from 'vitest';
import { DEFAULT_DEGREE_POLICY, mayDialLearned, mayRedialBootstrap, trimVictim, type NeighbourLinks, type PeerLink } from '../../../src/node/p2p/degree-policy.ts';

const policy = { ...DEFAULT_DEGREE_POLICY, targetPeers: 3, trimMinAgeMs: 1000 };
const NOW = 10_000;

function peers(n: number, over: (i: number) => Partial<PeerLink> = () => ({})): PeerLink[] {
  return Array.from({ length: n }, (_, i) => ({ peer: `p${i}`, openedAt: 0, protected: false, ...over(i) }));
}

/** Every peer has `direct` other neighbours and a detour, unless `over` says otherwise. */
function links(n: number, direct: number, over: Record<string, Partial<NeighbourLinks>> = {}): Map<string, NeighbourLinks> {
  return new Map(Array.from({ length: n }, (_, i) => [`p${i}`, { direct, detour: true, ...over[`p${i}`] }]));
}

describe('degree policy', () => {
  it('learned dials count dials in flight, so a burst of hints does not overshoot the target', () => {
    expect(mayDialLearned(1, 1, policy)).toBe(true);
    expect(mayDialLearned(1, 2, policy)).toBe(false);
    expect(mayDialLearned(3, 0, policy)).toBe(false);
  });

  it('a bootstrap peer is redialled only while the node has fewer neighbours than the target', () => {
    expect(mayRedialBootstrap(0, policy)).toBe(true);
    expect(mayRedialBootstrap(2, policy)).toBe(true);
    expect(mayRedialBootstrap(3, policy)).toBe(false);
  });

  it('at or under the target nothing is trimmed', () => {
    expect(trimVictim(peers(3), links(3, 10), NOW, policy)).toBeUndefined();
    expect(trimVictim(peers(4), links(4, 10), NOW, policy)).toBe('p0');
  });

  it('the surplus link to the best-connected peer goes first, then the oldest', () => {
    const ps = peers(5, (i) => ({ openedAt: 100 * (5 - i) }));
    expect(trimVictim(ps, links(5, 4, { p2: { direct: 9 } }), NOW, policy)).toBe('p2');
    expect(trimVictim(ps, links(5, 4), NOW, policy)).toBe('p4');
  });

  it('never a protected or young link, one without a detour (a bridge), or one whose peer would drop below the target', () => {
    const ps = peers(5, (i) => ({ protected: i === 0, openedAt: i === 1 ? NOW - 500 : 0 }));
    const l = links(5, 5, { p2: { detour: false }, p3: { direct: 2 } });
    expect(trimVictim(ps, l, NOW, policy)).toBe('p4');
    l.set('p4', { direct: 2, detour: true });
    expect(trimVictim(ps, l, NOW, policy)).toBeUndefined();
    // Nothing known about a peer (not a routes neighbour yet): kept.
    expect(trimVictim(ps, new Map(), NOW, policy)).toBeUndefined();
  });
});
