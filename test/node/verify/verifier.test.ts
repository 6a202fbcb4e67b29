// The cross-check's decisions: who is believed when answers disagree, what the caller gets,
// and who is quarantined. Providers are functions that answer with real tensors (a corrupted
// one for a liar); the reputation and the comparison are the real ones.
import { describe, expect, it } from 'vitest';
import { VerificationFailedError } from '../../../src/errors.ts';
import { corruptTensor } from '../../../src/inference/fault.ts';
import type { InferRequest, InferResult, Tensor } from '../../../src/inference/types.ts';
import { silentLogger } from '../../../src/logger.ts';
import { Reputation } from '../../../src/routing/reputation.ts';
import type { RouteCandidate } from '../../../src/routing/types.ts';
import { createVerifier, type VerificationEvent } from '../../../src/node/verify/verifier.ts';

const truth: Tensor = { name: 'segments', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([0.962, 2.046]) };

function cand(origin: string): RouteCandidate {
  return { origin, model: 'vad', version: '1', nextHop: origin, hops: 1, pathLatencyMs: 1, computeMs: 5, queueWaitMs: 0, price: 0, provider: 'cpu', expectedMs: 7 };
}

function answerOf(origin: string, liars: ReadonlySet<string>): InferResult {
  return { model: 'vad', version: '1', id: 'q', outputs: [liars.has(origin) ? corruptTensor(truth) : truth], parameters: { 'plexus.served_by': origin } };
}

function setup(providers: readonly string[], liars: readonly string[], opts: { rate?: number; self?: string } = {}) {
  const rep = new Reputation();
  const ran: string[] = [];
  const events: VerificationEvent[] = [];
  const lying = new Set(liars);
  const self = opts.self ?? 'me';
  const v = createVerifier({
    self, rate: opts.rate ?? 0, reputation: rep, logger: silentLogger(), random: () => 0,
    witnesses: (_m, _v, exclude) => providers.filter((p) => !exclude.has(p) && !rep.quarantined(p, Date.now())).map(cand),
    run: (_req, c) => { ran.push(c.origin); return Promise.resolve(answerOf(c.origin, lying)); },
    onVerification: (e) => { events.push(e); },
  });
  return { v, rep, ran, events, answer: (origin: string) => answerOf(origin, lying) };
}

const req = (verify: boolean): InferRequest => ({ model: 'speech.vad', id: 'q', inputs: [], outputs: [], parameters: verify ? { 'plexus.verify': true } : {} });
const out = (r: InferResult): number[] => [...(r.outputs[0]?.data as Float32Array)];

describe('plexus.verify=true', () => {
  it('an answer confirmed by a second provider comes back with plexus.verified_by', async () => {
    const { v, ran, answer } = setup(['a', 'b'], []);
    const r = await v.check(req(true), answer('a'), Date.now() + 1000);
    expect(r.parameters['plexus.verified_by']).toBe('b');
    expect(ran).toEqual(['b']);
  });

  it("a wrong answer against this node's own run: the provider is quarantined and the caller gets the node's answer", async () => {
    const { v, rep, events, answer } = setup(['me', 'a'], ['liar']);
    const r = await v.check(req(true), answer('liar'), Date.now() + 1000);
    expect(out(r)).toEqual(out(answer('me')));
    expect(r.parameters['plexus.verified_by']).toBe('me');
    expect(rep.view('liar', Date.now()).state).toBe('quarantined');
    expect(events).toEqual([{ model: 'speech.vad', outcome: 'wrong', peer: 'liar' }]);
  });

  it('two remote opinions against one: the odd one out is quarantined, whether it answered first or second', async () => {
    const first = setup(['b', 'c'], ['liar']);
    const r1 = await first.v.check(req(true), first.answer('liar'), Date.now() + 1000);
    expect(out(r1)).toEqual(out(first.answer('b')));
    expect(r1.parameters['plexus.verified_by']).toBe('c');
    expect(first.rep.view('liar', Date.now()).state).toBe('quarantined');

    const second = setup(['liar', 'c'], ['liar']);
    const r2 = await second.v.check(req(true), second.answer('a'), Date.now() + 1000);
    expect(out(r2)).toEqual(out(second.answer('a')));
    expect(r2.parameters['plexus.verified_by']).toBe('c');
    expect(second.rep.view('liar', Date.now()).state).toBe('quarantined');
    expect(second.rep.view('a', Date.now()).state).toBe('ok');
  });

  it('no second provider, or no two answers agreeing: an error, never an unconfirmed answer', async () => {
    const alone = setup([], []);
    await expect(alone.v.check(req(true), alone.answer('a'), Date.now() + 1000)).rejects.toBeInstanceOf(VerificationFailedError);
    const split = setup(['b'], ['a']);
    await expect(split.v.check(req(true), split.answer('a'), Date.now() + 1000)).rejects.toThrow(/disagree and no third provider/);
    expect(split.rep.view('a', Date.now()).state).toBe('ok');
  });
});

describe('sampled verification', () => {
  it('at rate 1 the caller gets the first answer at once and the liar is quarantined after', async () => {
    const { v, rep, answer } = setup(['me'], ['liar'], { rate: 1 });
    const r = await v.check(req(false), answer('liar'), Date.now() + 1000);
    expect(r.parameters['plexus.verified_by']).toBeUndefined();
    await new Promise((res) => setTimeout(res, 10));
    expect(rep.view('liar', Date.now()).state).toBe('quarantined');
  });

  it('at rate 0, and for this node\'s own answers, nothing is re-run', async () => {
    const { v, ran, answer } = setup(['me', 'b'], [], { rate: 0 });
    await v.check(req(false), answer('a'), Date.now() + 1000);
    const own = await v.check(req(true), answer('me'), Date.now() + 1000);
    expect(own.parameters['plexus.verified_by']).toBe('me');
    expect(ran).toEqual([]);
  });
});
