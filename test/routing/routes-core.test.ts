// The routes protocol's state machine (src/routing/routes-core.ts) driven directly: a real
// routing table, a clock the test moves, signed updates whose signatures the adapter would
// have checked. Covers what the daemon tests only reach through sockets and timers.
import { describe, expect, it } from 'vitest';
import { RoutesCore } from '../../src/routing/routes-core.ts';
import type { AdmittedUpdate, SignedUpdate } from '../../src/routing/routes-messages.ts';
import { BumpGate } from '../../src/routing/routes-seqno.ts';
import { routesTiming, type RoutesTimingInput } from '../../src/routing/routes-timing.ts';
import type { ProviderAdvert } from '../../src/routing/types.ts';
import { DEFAULT_PEER_LIMITS } from '../../src/routing/peer-limits.ts';
import { advert, model, newTable } from './fixtures.ts';

const M = [model('m')];

function setup(timing: RoutesTimingInput = {}, limits = DEFAULT_PEER_LIMITS): { core: RoutesCore; clock: { now: number } } {
  const clock = { now: 1000 };
  const table = newTable('me', { holdMs: 10_000 });
  const core = new RoutesCore({ self: 'me', table, limits, timing: routesTiming(timing), clock: () => clock.now });
  core.start();
  return { core, clock };
}

const signed = (a: ProviderAdvert, metricMs: number, hops: number, retracted = false): SignedUpdate => ({
  signed: { advert: a, sig: new Uint8Array([a.seq & 0xff, 7]) }, metricMs, hops, retracted,
});
const admitted = (u: SignedUpdate): AdmittedUpdate => ({ u, digest: `${u.signed.advert.origin}/${u.signed.advert.seq}` });
const sign = (core: RoutesCore, models = M): void => {
  const a = core.newAdvert(models);
  core.signed(models, { advert: a, sig: new Uint8Array([1]) }, 100, `me/${a.seq}`);
};

describe('routes core: seqno requests', () => {
  it('asks the neighbour with an infeasible route, then backs off (0.5 s, then 1 s), and stops once answered', () => {
    const { core, clock } = setup();
    core.neighbourUp('a', 2);
    core.neighbourUp('b', 2);
    core.applyFrame('a', [admitted(signed(advert('o', 5, M), 10, 1))], {});
    core.applyFrame('b', [admitted(signed(advert('o', 5, M), 20, 2))], {});
    expect(core.neighbourDown('a')).toBe(true);
    expect(core.neighbourDown('a')).toBe(false); // once
    const first = core.seqnoRequests();
    expect([...first]).toEqual([['b', [{ origin: 'o', seq: 6, hopsLeft: 16 }]]]);
    expect(core.seqnoRequests().size).toBe(0);
    clock.now += 499;
    expect(core.seqnoRequests().size).toBe(0);
    clock.now += 1;
    expect(core.seqnoRequests().size).toBe(1);
    clock.now += 999;
    expect(core.seqnoRequests().size).toBe(0);
    clock.now += 1;
    expect(core.seqnoRequests().size).toBe(1);
    core.applyFrame('b', [admitted(signed(advert('o', 6, M), 20, 2))], {});
    clock.now += 60_000;
    expect(core.seqnoRequests().size).toBe(0);
  });

  it('answers requests: own seq already signed -> flush, newer -> bump; others answered, forwarded one hop less, or dropped at the last hop', () => {
    const { core } = setup();
    sign(core);
    const own = core.own?.advert.seq ?? -1;
    core.neighbourUp('a', 2);
    core.neighbourUp('b', 2);
    core.applyFrame('a', [admitted(signed(advert('o', 5, M), 10, 1))], {});
    expect(core.onSeqnoRequests('b', [{ origin: 'me', seq: own, hopsLeft: 3 }])).toMatchObject({ flush: true, bump: false, forward: [] });
    expect(core.onSeqnoRequests('b', [{ origin: 'me', seq: own + 1, hopsLeft: 3 }])).toMatchObject({ flush: false, bump: true });
    expect(core.onSeqnoRequests('b', [{ origin: 'o', seq: 5, hopsLeft: 3 }])).toMatchObject({ flush: true, forward: [] });
    expect(core.onSeqnoRequests('b', [{ origin: 'o', seq: 6, hopsLeft: 3 }]).forward).toEqual([{ to: 'a', req: { origin: 'o', seq: 6, hopsLeft: 2 } }]);
    expect(core.onSeqnoRequests('b', [{ origin: 'o', seq: 6, hopsLeft: 1 }]).forward).toEqual([]);
  });

  it('re-signs for requests at most once per seqnoBumpMinMs, and never while stopped', () => {
    const { core, clock } = setup();
    expect(core.bumpDelay()).toBe(0);
    expect(core.bumpDelay()).toBeUndefined(); // one pending
    core.bumpStarted();
    core.bumpDone();
    clock.now += 30;
    expect(core.bumpDelay()).toBe(70);
    core.bumpStarted();
    core.bumpDone();
    core.stop();
    expect(core.bumpDelay()).toBeUndefined();
    const gate = new BumpGate(100);
    expect(gate.request(5)).toBe(0);
    gate.started(5);
    gate.done();
    expect(gate.request(205)).toBe(0);
  });
});

describe('routes core: strikes and liveness', () => {
  it('hangs up on the third bad frame; a disconnect forgets the strikes', () => {
    const { core } = setup();
    expect(core.strike('x')).toEqual({ strikes: 1, hangUp: false });
    expect(core.strike('x')).toEqual({ strikes: 2, hangUp: false });
    expect(core.strike('x')).toEqual({ strikes: 3, hangUp: true });
    expect(core.stateSizes().strikes).toBe(1);
    core.disconnected('x');
    expect(core.stateSizes().strikes).toBe(0);
    expect(core.strike('x').strikes).toBe(1);
    const strict = setup({ maxStrikes: 1 }).core;
    expect(strict.strike('y').hangUp).toBe(true);
  });

  it('hangs up after two missed pings in a row; an answer resets the count and updates the RTT; stale pings are ignored', () => {
    const { core } = setup();
    const { state } = core.neighbourUp('a', 4);
    core.applyFrame('a', [admitted(signed(advert('o', 1, M), 10, 1))], {});
    expect(core.pinged('a', state, undefined)).toBe('missed');
    expect(core.pinged('a', state, 3)).toBe('ok');
    expect(state).toMatchObject({ missedPings: 0, rttMs: 3 });
    expect(core.pinged('a', state, undefined)).toBe('missed');
    expect(core.peers.has('a')).toBe(true);
    expect(core.pinged('a', state, undefined)).toBe('hang-up');
    expect(core.peers.has('a')).toBe(false);
    expect(core.lastHeard('o', 'a')).toBeUndefined(); // the table and the heard map dropped it
    expect(core.pinged('a', state, 2)).toBe('stale');
    const again = core.neighbourUp('a', 4);
    expect(core.pinged('a', state, undefined)).toBe('stale'); // an answer about the old link
    expect(again.state.missedPings).toBe(0);
  });
});

describe('routes core: what to send when', () => {
  it('re-signs for a models change at once, a load change at most every loadAdvertEveryMs, and anything after maxAdvertAgeMs', () => {
    const { core, clock } = setup({ refreshMs: 1000, loadAdvertEveryMs: 500 });
    sign(core);
    expect(core.resignDue(M)).toBe(false);
    const loaded = [model('m', { load: 4 })]; // a quarter of capacity crossed: a load change
    clock.now += 100;
    expect(core.resignDue(loaded)).toBe(false);
    clock.now += 400;
    expect(core.resignDue(loaded)).toBe(true);
    expect(core.resignDue([...M, model('n')])).toBe(true);
    expect(core.resignDue(M)).toBe(false);
    clock.now += 30 * 1000 - 500;
    expect(core.resignDue(M)).toBe(true);
  });

  it('arms the debounce once until it fires, and not when stopped', () => {
    const { core } = setup();
    expect(core.armFlush()).toBe(true);
    expect(core.armFlush()).toBe(false);
    core.flushFired();
    expect(core.armFlush()).toBe(true);
    core.flushFired();
    core.stop();
    expect(core.armFlush()).toBe(false);
  });

  it('a new neighbour gets a full dump of proven adverts; triggered flushes carry only changes, and nothing unproven is relayed', () => {
    const { core } = setup();
    sign(core);
    core.neighbourUp('a', 2);
    core.applyFrame('a', [admitted(signed(advert('o', 5, M), 10, 1))], {});
    const { updates } = core.neighbourUp('b', 2);
    expect(updates.map((u) => [u.signed.advert.origin, u.signed.sig.length > 0]).sort()).toEqual([['me', true], ['o', true]]);
    expect(core.flush(false).find(([p]) => p === 'b')).toBeUndefined(); // nothing new since the dump
    core.applyFrame('a', [admitted(signed(advert('o', 6, M), 10, 1))], {});
    const toB = core.flush(false).find(([p]) => p === 'b')?.[1] ?? [];
    expect(toB.map((u) => [u.signed.advert.origin, u.signed.advert.seq])).toEqual([['o', 6]]);
    core.origins.forget('o'); // the proof is gone: the advert cannot be relayed
    expect(core.flush(true).find(([p]) => p === 'b')?.[1].map((u) => u.signed.advert.origin)).toEqual(['me']);
  });
});

describe('routes core: admission and per-origin state', () => {
  it('screens adverts: own skipped, oversize refused, a verified repeat skips the check, new ones within the peer rate', () => {
    const { core } = setup({}, { ...DEFAULT_PEER_LIMITS, advertsPerSecond: 1, advertBurst: 2 });
    core.neighbourUp('a', 2);
    const u = signed(advert('o', 1, M), 10, 1);
    expect(core.screen('a', signed(advert('me', 1, M), 1, 1).signed, 10, 'x')).toEqual({ kind: 'own' });
    expect(core.screen('a', u.signed, DEFAULT_PEER_LIMITS.maxAdvertBytes + 1, 'x').kind).toBe('refused');
    expect(core.screen('a', u.signed, 100, 'o/1')).toEqual({ kind: 'verify' });
    core.applyFrame('a', [admitted(u)], {});
    expect(core.screen('a', u.signed, 100, 'o/1')).toEqual({ kind: 'known' });
    expect(core.screen('a', u.signed, 100, 'forged twin')).toEqual({ kind: 'verify' });
    expect(core.screen('a', signed(advert('p', 1, M), 1, 1).signed, 100, 'p/1')).toEqual({ kind: 'refused' }); // over the rate
  });

  it('keeps and dials hints only of origins the frame offers, within the dial budget', () => {
    const { core } = setup();
    core.neighbourUp('a', 2);
    const out = core.applyFrame('a', [admitted(signed(advert('o', 1, M), 10, 1)), admitted(signed(advert('r', 1, M), Infinity, 0, true))], {
      o: ['/ip4/10.0.0.1/tcp/1', '/ip4/10.0.0.1/tcp/2', '/ip4/10.0.0.1/tcp/3', '/ip4/10.0.0.1/tcp/4'], r: ['/ip4/10.0.0.2/tcp/1'], z: ['/ip4/10.0.0.3/tcp/1'], me: ['/ip4/10.0.0.4/tcp/1'],
    });
    expect(out.dials.map((d) => d.origin)).toEqual(['o']);
    expect(out.dials[0]?.addrs).toHaveLength(DEFAULT_PEER_LIMITS.hintAddrsPerOrigin);
    expect(core.hints('o')).toEqual(out.dials[0]?.addrs);
    expect(core.hints('z')).toBeUndefined();
    // In flight: not dialled twice; a failed dial backs off.
    expect(core.applyFrame('a', [admitted(signed(advert('o', 1, M), 10, 1))], { o: ['/ip4/10.0.0.1/tcp/1'] }).dials).toEqual([]);
    core.dialEnded('o', false);
    expect(core.applyFrame('a', [admitted(signed(advert('o', 1, M), 10, 1))], { o: ['/ip4/10.0.0.1/tcp/1'] }).dials).toEqual([]);
  });

  it('forgets signatures, seqs, hints, heard times and dial back-off when the table forgets the origin', () => {
    const { core, clock } = setup();
    core.neighbourUp('a', 2);
    for (let seq = 1; seq <= 6; seq++) core.applyFrame('a', [admitted(signed(advert('o', seq, M), 10, 1))], { o: ['/ip4/10.0.0.1/tcp/1'] });
    core.dialEnded('o', false);
    expect(core.stateSizes()).toMatchObject({ sigs: 4, sigOrigins: 1, addrHints: 1, heard: 1, dials: 1 }); // 4 seqs per origin
    expect(core.lastHeard('o', 'a')).toBe(clock.now);
    clock.now += 10_001;
    expect(core.expire()).toBe(true); // the route expires; the origin is forgotten a hold time later
    expect(core.stateSizes().sigOrigins).toBe(1);
    clock.now += 10_000;
    core.expire();
    expect(core.stateSizes()).toMatchObject({ sigs: 0, sigOrigins: 0, addrHints: 0, heard: 0, dials: 0 });
  });

  it('the sweep drops state about origins the table never admitted, never our own', () => {
    const { core } = setup();
    sign(core);
    core.origins.remember({ advert: advert('ghost', 1, M), sig: new Uint8Array([1]) }, 'g');
    core.origins.setHints('ghost', ['/ip4/10.0.0.9/tcp/1']);
    expect(core.stateSizes()).toMatchObject({ sigOrigins: 2, addrHints: 1 });
    core.sweep();
    expect(core.stateSizes()).toMatchObject({ sigOrigins: 1, addrHints: 0 });
  });
});
