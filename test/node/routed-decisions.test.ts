// The routed dispatcher's decisions (src/node/routed/) with fake tries and a fake clock:
// failover order, hedge timing, TTL/deadline/loop checks. The daemon tests (test/cluster/
// failure, hedge, multihop) cover the same paths over real sockets.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CancelledError, DeadlineExceededError, InvalidInputError, NoFeasibleRouteError, PeerUnavailableError, QueueFullError, RemoteError,
} from '../../src/errors.ts';
import { arrivalError, hedgePair, isRetryable, passedOn, relayCandidate } from '../../src/node/routed/checks.ts';
import { Failover, runFailover, type FailoverInit } from '../../src/node/routed/failover.ts';
import { HedgeRace, runHedged } from '../../src/node/routed/hedge.ts';
import { suspectOf } from '../../src/node/verify/guard.ts';
import type { RouteCandidate, Suspect } from '../../src/routing/types.ts';

const cand = (origin: string, nextHop: string, expectedMs = 10): RouteCandidate => ({
  origin, model: 'm', version: '1', nextHop, hops: 1, pathLatencyMs: 1, computeMs: 5, queueWaitMs: 0, price: 1, provider: 'cpu', expectedMs,
});
// The dispatcher's rule (src/node/verify/guard.ts): a dead link blames the next hop, anything else the provider.
const suspect = (e: unknown, c: RouteCandidate): Suspect => suspectOf(e, c, 'entry');

function failover(outcomes: Record<string, Error | 'ok'>, over: Partial<FailoverInit<string>> = {}): { tried: string[]; run: (cs: readonly RouteCandidate[]) => Promise<string> } {
  const tried: string[] = [];
  const init: FailoverInit<string> = {
    queryId: 'q', start: 0, deadline: 10_000, maxAttempts: 3, clock: () => 1000, suspectOf: suspect, reselect: () => Promise.resolve(undefined),
    attempt: (c, n) => {
      tried.push(`${n}:${c.origin}@${c.nextHop}`);
      const o = outcomes[`${c.origin}@${c.nextHop}`] ?? outcomes[c.origin] ?? 'ok';
      return o === 'ok' ? Promise.resolve(c.origin) : Promise.reject(o);
    },
    ...over,
  };
  return { tried, run: (cs) => runFailover(cs, init) };
}

describe('failover order', () => {
  it('tries candidates best first, skipping every one through a peer that already failed', async () => {
    const f = failover({ p1: new PeerUnavailableError('link n1 died'), p3: new QueueFullError('busy') });
    const res = await f.run([cand('p1', 'n1'), cand('p2', 'n1'), cand('p3', 'n2'), cand('p4', 'n3')]);
    expect(res).toBe('p4');
    expect(f.tried).toEqual(['1:p1@n1', '2:p3@n2', '3:p4@n3']); // p2 shares the dead next hop n1
  });

  it('a provider that fails is skipped as a provider only: a route through it to another provider is still tried', async () => {
    const f = failover({ 'p1@p1': new RemoteError('unavailable', 'p1: model failed') });
    const res = await f.run([cand('p1', 'p1'), cand('p2', 'p1'), cand('p3', 'n3')]);
    expect(res).toBe('p2');
    expect(f.tried).toEqual(['1:p1@p1', '2:p2@p1']);
    // Whereas a dead link to p1 takes every route through it.
    const g = failover({ 'p1@p1': new PeerUnavailableError('link p1 died') });
    expect(await g.run([cand('p1', 'p1'), cand('p2', 'p1'), cand('p3', 'n3')])).toBe('p3');
    expect(g.tried).toEqual(['1:p1@p1', '2:p3@n3']);
  });

  it('stops at maxAttempts and throws the last error', async () => {
    const busy = (o: string): Error => new RemoteError('resource_exhausted', `${o} busy`);
    const f = failover({ p1: busy('p1'), p2: busy('p2'), p3: busy('p3'), p4: busy('p4') });
    await expect(f.run([cand('p1', 'a'), cand('p2', 'b'), cand('p3', 'c'), cand('p4', 'd')])).rejects.toThrow('p3 busy');
    expect(f.tried).toHaveLength(3);
  });

  it('a non-retryable error ends the query at once', async () => {
    const f = failover({ p1: new InvalidInputError('bad tensor') });
    await expect(f.run([cand('p1', 'a'), cand('p2', 'b')])).rejects.toBeInstanceOf(InvalidInputError);
    expect(f.tried).toEqual(['1:p1@a']);
  });

  it('when our own link died, a fresh selection is tried once, still skipping the failed peers', async () => {
    let reselected = 0;
    const f = failover({ 'p1@a': new PeerUnavailableError('link a died') }, {
      reselect: () => { reselected++; return Promise.resolve([cand('p1', 'a'), cand('p1', 'b')]); },
    });
    expect(await f.run([cand('p1', 'a')])).toBe('p1');
    expect(reselected).toBe(1);
    expect(f.tried).toEqual(['1:p1@a', '2:p1@b']);
  });

  it('a passed deadline ends with DEADLINE_EXCEEDED naming the tries; a cancelled query with CANCELLED', async () => {
    let now = 1000;
    const f = failover({ p1: new QueueFullError('busy') }, {
      deadline: 2000, clock: () => now,
      attempt: (c) => { now = 2500; return Promise.reject(new QueueFullError(`${c.origin} busy`)); },
    });
    await expect(f.run([cand('p1', 'a'), cand('p2', 'b')])).rejects.toThrow(/deadline of 2000 ms passed after 1 attempt\(s\); last error: p1 busy/);
    const ctl = new AbortController();
    ctl.abort();
    await expect(failover({}, { signal: ctl.signal }).run([cand('p1', 'a')])).rejects.toBeInstanceOf(CancelledError);
  });

  it('the Failover state: retryable failures skip their suspect; PeerUnavailable makes a re-selection worth it', () => {
    const f = new Failover(2);
    expect(f.begin()).toBe(1);
    expect(f.failed(new PeerUnavailableError('x'), { peer: 'n1', role: 'peer' })).toBe(true);
    expect(f.skips(cand('p9', 'n1'))).toBe(true);
    expect(f.skips(cand('n1', 'z'))).toBe(true);
    expect(f.reselectWorth(0, 10, false)).toBe(true);
    expect(f.reselectWorth(0, 10, true)).toBe(false);
    expect(f.reselectWorth(10, 10, false)).toBe(false);
    f.begin();
    expect(f.exhausted).toBe(true);
    expect(f.reselectWorth(0, 10, false)).toBe(false);
    expect(f.failed(new InvalidInputError('no'), { peer: 'n2', role: 'peer' })).toBe(false);
  });
});

describe('hedge timing', () => {
  afterEach(() => { vi.useRealTimers(); });

  interface Try { cand: RouteCandidate; k: 0 | 1; signal: AbortSignal; resolve: (v: string) => void; reject: (e: Error) => void; at: number }

  function hedge(hedgeMs: number, deadline = 10_000): { tries: Try[]; result: Promise<string> } {
    const tries: Try[] = [];
    const result = runHedged<string>({
      queryId: 'q', first: cand('p1', 'a'), second: cand('p2', 'b'), hedgeMs, deadline, clock: () => Date.now(),
      attempt: (c, k, signal) => new Promise<string>((resolve, reject) => { tries.push({ cand: c, k, signal, resolve, reject, at: Date.now() }); }),
      mark: (res, hedged) => (hedged ? `${res}+hedged` : res),
    });
    return { tries, result };
  }

  it('starts the second provider exactly hedgeMs after the first, and the first answer cancels the other', async () => {
    vi.useFakeTimers({ now: 0 });
    const h = hedge(40);
    expect(h.tries).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(39);
    expect(h.tries).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.tries.map((t) => [t.cand.origin, t.at])).toEqual([['p1', 0], ['p2', 40]]);
    h.tries[1]?.resolve('p2');
    expect(await h.result).toBe('p2+hedged');
    expect(h.tries[0]?.signal.aborted).toBe(true);
    expect(h.tries[1]?.signal.aborted).toBe(false);
  });

  it('an answer before hedgeMs means no second try', async () => {
    vi.useFakeTimers({ now: 0 });
    const h = hedge(40);
    h.tries[0]?.resolve('p1');
    expect(await h.result).toBe('p1');
    await vi.advanceTimersByTimeAsync(100);
    expect(h.tries).toHaveLength(1);
  });

  it('a retryable failure of the first starts the second at once; a non-retryable one fails the query', async () => {
    vi.useFakeTimers({ now: 0 });
    const h = hedge(40);
    h.tries[0]?.reject(new PeerUnavailableError('gone'));
    await vi.advanceTimersByTimeAsync(1);
    expect(h.tries.map((t) => [t.k, t.at])).toEqual([[0, 0], [1, 0]]);
    h.tries[1]?.resolve('p2');
    expect(await h.result).toBe('p2+hedged');
    const bad = hedge(40);
    bad.tries[0]?.reject(new InvalidInputError('bad'));
    await expect(bad.result).rejects.toBeInstanceOf(InvalidInputError);
    expect(bad.tries).toHaveLength(1);
  });

  it('no second try once the deadline has passed; the race fails when both tries failed', () => {
    const r = new HedgeRace();
    r.launched();
    expect(r.secondDue(100, 100)).toBe(false);
    expect(r.failed(new QueueFullError('busy'), 100, 100)).toBe('reject');
    const both = new HedgeRace();
    both.launched();
    expect(both.secondDue(10, 100)).toBe(true);
    both.launched();
    expect(both.failed(new QueueFullError('busy'), 20, 100)).toBe('wait');
    expect(both.failed(new QueueFullError('busy'), 30, 100)).toBe('reject');
    expect(both.answered()).toBe(false);
  });

  it('hedges only with two providers and a hedge time inside the budget', () => {
    const cs = [cand('p1', 'a'), cand('p1', 'b'), cand('p2', 'c')];
    expect(hedgePair(cs, 50, 1000)).toMatchObject({ first: { origin: 'p1', nextHop: 'a' }, second: { origin: 'p2' }, hedgeMs: 50 });
    expect(hedgePair(cs, undefined, 1000)).toBeUndefined();
    expect(hedgePair(cs, 1000, 1000)).toBeUndefined();
    expect(hedgePair(cs.slice(0, 2), 50, 1000)).toBeUndefined();
  });
});

describe('TTL, time and loop checks', () => {
  const fwd = { queryId: 'q', ttl: 3, remainingMs: 500, route: ['e', 'r1'] };

  it('a forwarded query is refused when its TTL is spent, no time is left, or it already passed here', () => {
    expect(arrivalError(fwd, 'me')).toBeUndefined();
    const ttl = arrivalError({ ...fwd, ttl: 0 }, 'me');
    expect(ttl).toBeInstanceOf(NoFeasibleRouteError);
    expect(ttl?.message).toMatch(/TTL exhausted at me \(route e,r1\)/);
    expect(arrivalError({ ...fwd, remainingMs: 0 }, 'me')).toBeInstanceOf(DeadlineExceededError);
    expect(arrivalError(fwd, 'r1')?.message).toMatch(/routing loop through r1/);
  });

  it('a relay passes a query on with one hop less and itself on the route', () => {
    expect(passedOn({ ...fwd, model: 'm' }, 'me', 420)).toEqual({ queryId: 'q', ttl: 2, remainingMs: 420, route: ['e', 'r1', 'me'], model: 'm' });
    let q = fwd;
    for (const hop of ['a', 'b', 'c']) q = passedOn(q, hop, 100);
    expect(arrivalError(q, 'd')).toBeInstanceOf(NoFeasibleRouteError); // TTL 3 allows three relays
  });

  it('a relay takes the best next hop to the chosen provider, never itself or a failed one', () => {
    const cs = [cand('p2', 'x'), cand('p1', 'me'), cand('p1', 'a'), cand('p1', 'b')];
    expect(relayCandidate(cs, 'p1', 'me', new Set())?.nextHop).toBe('a');
    expect(relayCandidate(cs, 'p1', 'me', new Set(['a']))?.nextHop).toBe('b');
    expect(relayCandidate(cs, 'p1', 'me', new Set(['a', 'b']))).toBeUndefined();
  });

  it('retryable: unavailable, resource exhausted, deadline, a remote not-found; not: bad input, cancelled, plain errors', () => {
    expect([new PeerUnavailableError('x'), new QueueFullError('x'), new DeadlineExceededError('x'), new RemoteError('not_found', 'x')].map(isRetryable)).toEqual([true, true, true, true]);
    expect([new InvalidInputError('x'), new CancelledError('x'), new Error('x'), new RemoteError('invalid_argument', 'x')].map(isRetryable)).toEqual([false, false, false, false]);
  });
});
