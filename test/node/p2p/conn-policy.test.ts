import { describe, expect, it } from 'vitest';
import { combineGaters } from '../../../src/node/p2p/conn-gater.ts';
import { admitAddress, admitPeer, overLimit, pickVictim, DEFAULT_CONNECTION_LIMITS, type ConnView } from '../../../src/node/p2p/conn-policy.ts';

const limits = { ...DEFAULT_CONNECTION_LIMITS, maxConnections: 10, reservedConnections: 3, maxInboundPerIp: 4, maxConnectionsPerPeer: 2, evictMinAgeMs: 1000 };

function conn(i: number, over: Partial<ConnView> = {}): ConnView {
  return { id: `c${i}`, peer: `p${i}`, ip: '10.0.0.1', inbound: true, openedAt: 0, streams: 1, protected: false, ...over };
}

describe('connection policy', () => {
  it('per IP: at most maxInboundPerIp inbound; a newcomer from that IP replaces an old unused one, never a protected or young one', () => {
    const four = [0, 1, 2, 3].map((i) => conn(i, { protected: i === 0, openedAt: i * 100 }));
    expect(admitAddress('10.0.0.2', four, 5000, limits)).toEqual({ allow: true });
    expect(admitAddress('10.0.0.1', four, 5000, limits)).toEqual({ allow: true, evict: 'c1' });
    expect(admitAddress('10.0.0.1', four, 500, limits)).toMatchObject({ allow: false });
    const outbound = [0, 1, 2, 3, 4].map((i) => conn(i, { inbound: false }));
    expect(admitAddress('10.0.0.1', outbound, 5000, limits)).toEqual({ allow: true });
  });

  it('per peer: at most maxConnectionsPerPeer connections with one identity', () => {
    const two = [conn(0, { peer: 'x' }), conn(1, { peer: 'x' })];
    expect(admitPeer('x', true, two, 5000, limits)).toMatchObject({ allow: false, why: expect.stringMatching(/2 connections with x/) as unknown });
    expect(admitPeer('y', false, two, 5000, limits)).toEqual({ allow: true });
  });

  it('the reserve: past maxConnections - reserved only protected peers get a free slot; others evict an unused connection or are refused', () => {
    const seven = Array.from({ length: 7 }, (_, i) => conn(i, { ip: `10.0.1.${i}`, protected: true }));
    expect(admitPeer('in-table', true, seven, 5000, limits)).toEqual({ allow: true });
    expect(admitPeer('stranger', false, seven, 5000, limits)).toMatchObject({ allow: false, why: expect.stringMatching(/in use/) as unknown });
    const withIdle = [...seven.slice(0, 6), conn(9, { ip: '10.0.2.1', openedAt: 10 })];
    expect(admitPeer('stranger', false, withIdle, 5000, limits)).toEqual({ allow: true, evict: 'c9' });
    const full = Array.from({ length: 10 }, (_, i) => conn(i, { ip: `10.0.1.${i}`, protected: true }));
    expect(admitPeer('in-table', true, full, 5000, limits)).toMatchObject({ allow: false });
  });

  it('victims: unprotected, old enough, fewest streams first, then the oldest', () => {
    expect(pickVictim([conn(0, { streams: 3 }), conn(1, { streams: 1, openedAt: 50 }), conn(2, { streams: 1, openedAt: 20 })], 5000, limits)?.id).toBe('c2');
    expect(pickVictim([conn(0, { protected: true }), conn(1, { openedAt: 4500 })], 5000, limits)).toBeUndefined();
  });

  it('overLimit closes unprotected connections down to maxConnections', () => {
    const conns = Array.from({ length: 14 }, (_, i) => conn(i, { protected: i < 8, openedAt: i }));
    expect(overLimit(conns, 5000, limits)).toEqual(['c8', 'c9', 'c10', 'c11']);
    const allProtected = Array.from({ length: 14 }, (_, i) => conn(i, { protected: true }));
    expect(overLimit(allProtected, 5000, limits)).toEqual([]);
  });
});

describe('combineGaters', () => {
  it('denies when any gater denies, asking them in order and stopping at the first denial', async () => {
    const asked: string[] = [];
    const trust = { denyInboundEncryptedConnection: (p: unknown) => { asked.push('trust'); return p === 'banned'; } };
    const guard = { denyInboundEncryptedConnection: async () => { asked.push('guard'); return Promise.resolve(false); }, denyInboundConnection: () => true };
    const g = combineGaters(trust, guard);
    const call = (p: string): Promise<boolean> | boolean | undefined => g.denyInboundEncryptedConnection?.(p as never, {} as never);
    expect(await call('banned')).toBe(true);
    expect(asked).toEqual(['trust']);
    expect(await call('ok')).toBe(false);
    expect(asked).toEqual(['trust', 'trust', 'guard']);
    expect(await g.denyInboundConnection?.({} as never)).toBe(true);
    expect('denyDialPeer' in g).toBe(false);
  });
});
