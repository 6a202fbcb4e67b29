// The routes protocol core driven by a socket-free simulation (src/routing/routes-sim.ts):
// the reconverge diamond of test/cluster/reconverge.test.ts, in rounds instead of daemons.
import { describe, expect, it } from 'vitest';
import { CoreSimulation } from '../../src/routing/routes-sim.ts';
import { model } from './fixtures.ts';

describe('routes core in a simulation', () => {
  it('after losing the feasible next hop, a seqno request travels to the origin, which re-signs, and the slow path is used', () => {
    const sim = new CoreSimulation({ table: { hopCostMs: 0 } }, ['a', 'b', 'c', 'd']);
    sim.advertise('d', [model('m')]);
    sim.linkUp('b', 'd', 2);
    sim.linkUp('c', 'd', 100); // C's link to D is slow
    sim.linkUp('a', 'b', 2);
    sim.linkUp('a', 'c', 2);
    sim.run();
    const a = sim.node('a').table;
    expect(a.routeTo('d', sim.now)?.nextHop).toBe('b');
    const seq = a.routeTo('d', sim.now)?.seq ?? 0;
    sim.linkDown('a', 'b');
    expect(a.routeTo('d', sim.now)).toBeUndefined(); // C's route is infeasible
    const rounds = sim.run();
    expect(a.routeTo('d', sim.now)).toMatchObject({ nextHop: 'c' });
    expect(a.routeTo('d', sim.now)?.seq).toBeGreaterThan(seq);
    expect(rounds).toBeLessThan(10);
    // A asked C (16 hops allowed), C forwarded to D with one hop less.
    expect(sim.requestLog.map(([from, to, q]) => [from, to, q.origin, q.hopsLeft])).toEqual([['a', 'c', 'd', 16], ['c', 'd', 'd', 15]]);
  });

  it('signatures and seqs are dropped everywhere once the origin is gone and forgotten', () => {
    const sim = new CoreSimulation({ table: { holdMs: 1000 } }, ['a', 'b', 'o']);
    sim.advertise('o', [model('m')]);
    sim.linkUp('a', 'b', 2);
    sim.linkUp('b', 'o', 2);
    sim.run();
    expect([...sim.node('a').core.origins.proofs.origins()]).toEqual(['o']);
    expect(sim.node('a').core.lastHeard('o', 'b')).toBeDefined();
    sim.linkDown('b', 'o');
    sim.run();
    for (let i = 0; i < 250; i++) sim.step(); // two hold times
    for (const id of ['a', 'b']) {
      expect(sim.node(id).table.knows('o')).toBe(false);
      expect(sim.node(id).core.stateSizes()).toMatchObject({ sigs: 0, sigOrigins: 0, heard: 0, addrHints: 0 });
    }
  });
});
