// The one admission primitive (src/inference/admission.ts) and the queues built on it, on a fake
// clock: refusal order and kinds, a waiter's deadline and abort, detaching, and the run
// limiter's and batcher's waiters leaving, being granted and being drained.
import { describe, expect, it, vi } from 'vitest';
import { CancelledError, DeadlineExceededError, QueueFullError, ShuttingDownError } from '../../src/errors.ts';
import { createAdmission, type AdmissionClock } from '../../src/inference/admission.ts';
import { createBatcher } from '../../src/inference/batcher.ts';
import { createRunLimiter } from '../../src/inference/run-limiter.ts';
import type { Tensor } from '../../src/inference/types.ts';

interface FakeClock extends AdmissionClock {
  advance(ms: number): void;
  /** Timers set and neither fired nor cancelled. */
  pending(): number;
}

function fakeClock(start = 1_700_000_000_000): FakeClock {
  let t = start;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => t,
    after(ms, fn) {
      const e = { at: t + ms, fn, live: true };
      timers.push(e);
      return () => { e.live = false; };
    },
    advance(ms) {
      t += ms;
      for (const e of timers.filter((x) => x.live && x.at <= t).sort((a, b) => a.at - b.at)) {
        e.live = false;
        e.fn();
      }
    },
    pending: () => timers.filter((x) => x.live).length,
  };
}

const TEXTS = {
  closed: 'closed', cancelled: 'cancelled', expired: 'expired', full: () => 'full (3 waiting)',
  cancelledWaiting: 'cancelled while waiting', expiredWaiting: 'expired while waiting',
};
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('admission', () => {
  it('refuses closed, then cancelled, then past the deadline, then full; admits otherwise', () => {
    const clock = fakeClock();
    const a = createAdmission(TEXTS, clock);
    const aborted = AbortSignal.abort();
    const past = clock.now();
    const all = { closed: true, full: true };
    expect(a.refuse({ signal: aborted, deadline: past }, all)).toBeInstanceOf(ShuttingDownError);
    const c = a.refuse({ signal: aborted, deadline: past }, { closed: false, full: true });
    expect(c).toBeInstanceOf(CancelledError);
    expect(c?.message).toBe('cancelled');
    expect(a.refuse({ deadline: past }, { closed: false, full: true })).toBeInstanceOf(DeadlineExceededError);
    const f = a.refuse({ deadline: past + 1 }, { closed: false, full: true });
    expect(f).toBeInstanceOf(QueueFullError);
    expect(f?.kind).toBe('resource_exhausted');
    expect(f?.message).toBe('full (3 waiting)');
    expect(a.refuse({ deadline: past + 1 }, { closed: false, full: false })).toBeUndefined();
    expect(a.refuse({}, { closed: false, full: false })).toBeUndefined();
  });

  it('a waiter leaves once at its deadline, and its abort listener goes with it', () => {
    const clock = fakeClock();
    const a = createAdmission(TEXTS, clock);
    const ctl = new AbortController();
    const remove = vi.spyOn(ctl.signal, 'removeEventListener');
    const left: Error[] = [];
    a.watch({ deadline: clock.now() + 50, signal: ctl.signal }, (e) => left.push(e));
    clock.advance(49);
    expect(left).toEqual([]);
    clock.advance(1);
    expect(left).toHaveLength(1);
    expect(left[0]).toBeInstanceOf(DeadlineExceededError);
    expect(left[0]?.message).toBe('expired while waiting');
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
    ctl.abort();
    expect(left).toHaveLength(1);
  });

  it('a waiter leaves once on abort, and its deadline timer is cancelled', () => {
    const clock = fakeClock();
    const a = createAdmission(TEXTS, clock);
    const ctl = new AbortController();
    const left: Error[] = [];
    a.watch({ deadline: clock.now() + 50, signal: ctl.signal }, (e) => left.push(e));
    expect(clock.pending()).toBe(1);
    ctl.abort();
    expect(left.map((e) => e.message)).toEqual(['cancelled while waiting']);
    expect(left[0]).toBeInstanceOf(CancelledError);
    expect(clock.pending()).toBe(0);
    clock.advance(100);
    expect(left).toHaveLength(1);
  });

  it('detach (idempotent) ends the watch: neither deadline nor abort calls leave afterwards', () => {
    const clock = fakeClock();
    const a = createAdmission(TEXTS, clock);
    const ctl = new AbortController();
    const left: Error[] = [];
    const detach = a.watch({ deadline: clock.now() + 10, signal: ctl.signal }, (e) => left.push(e));
    detach();
    detach();
    expect(clock.pending()).toBe(0);
    ctl.abort();
    clock.advance(20);
    expect(left).toEqual([]);
  });
});

describe('run limiter on admission', () => {
  it('refuses a full queue, expires a queued waiter at its deadline, grants the next on release', async () => {
    const clock = fakeClock();
    const lim = createRunLimiter('m', { maxConcurrent: 1, maxQueue: 2, clock });
    const first = await lim.acquire();
    const expiring = lim.acquire({ deadline: clock.now() + 100 });
    const patient = lim.acquire();
    await expect(lim.acquire()).rejects.toBeInstanceOf(QueueFullError);
    await expect(lim.acquire({ bypassQueueLimit: true, deadline: clock.now() })).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(lim.queued).toBe(2);
    clock.advance(100);
    await expect(expiring).rejects.toThrow(new DeadlineExceededError("deadline passed while queued for model 'm'"));
    expect(lim.queued).toBe(1);
    first();
    const second = await patient;
    expect(lim.inFlight).toBe(1);
    expect(clock.pending()).toBe(0);
    second();
    expect(lim.inFlight).toBe(0);
  });

  it('a cancelled waiter leaves the queue; drain fails the rest and detaches their timers', async () => {
    const clock = fakeClock();
    const lim = createRunLimiter('m', { maxConcurrent: 1, maxQueue: 4, clock });
    const release = await lim.acquire();
    const ctl = new AbortController();
    const cancelled = lim.acquire({ signal: ctl.signal, deadline: clock.now() + 1000 });
    const drained = lim.acquire({ deadline: clock.now() + 1000 });
    ctl.abort();
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    expect(lim.queued).toBe(1);
    const idle = lim.drain();
    await expect(drained).rejects.toBeInstanceOf(ShuttingDownError);
    expect(clock.pending()).toBe(0);
    await expect(lim.acquire()).rejects.toBeInstanceOf(ShuttingDownError);
    release();
    await idle;
  });
});

describe('run limiter ahead slots', () => {
  it('only single runs take them, behind runs only; they count as queued, and a slot holder waits for them to drain', async () => {
    const lim = createRunLimiter('m', { maxConcurrent: 1, maxQueue: 3, ahead: 2 });
    const run1 = await lim.acquire({ ahead: true });
    const run2 = await lim.acquire({ ahead: true });
    const run3 = await lim.acquire({ ahead: true });
    expect(lim.inFlight).toBe(3);
    // An adapter (no `ahead`) waits: the model already runs maxConcurrent and has runs lined up.
    let held = false;
    const holder = lim.acquire().then((r) => { held = true; return r; });
    // The queue holds 3: two ahead runs and the holder; one more is refused.
    await expect(lim.acquire({ ahead: true })).rejects.toBeInstanceOf(QueueFullError);
    run1();
    run2();
    await flush();
    expect(held).toBe(false);
    run3();
    const release = await holder;
    expect(held).toBe(true);
    expect(lim.inFlight).toBe(1);
    // While a holder has the slot, runs wait as before (ahead slots stack runs behind runs only).
    let ran = false;
    const later = lim.acquire({ ahead: true }).then((r) => { ran = true; return r; });
    await flush();
    expect(ran).toBe(false);
    release();
    (await later)();
    expect(lim.inFlight).toBe(0);
  });

  it('are capped by maxQueue', async () => {
    const lim = createRunLimiter('m', { maxConcurrent: 1, maxQueue: 1, ahead: 16 });
    const a = await lim.acquire({ ahead: true });
    const b = await lim.acquire({ ahead: true });
    await expect(lim.acquire({ ahead: true })).rejects.toBeInstanceOf(QueueFullError);
    a();
    b();
  });
});

describe('batcher on admission', () => {
  const tensor = (rows: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [rows, 2], data: new Float32Array(rows * 2) });

  it('refuses past its queue, and a queued request leaves at its deadline with the batch words', async () => {
    const clock = fakeClock();
    const limiter = createRunLimiter('b', { maxConcurrent: 1, maxQueue: 4 });
    const runs: number[] = [];
    const batcher = createBatcher({
      model: 'b', batching: { maxBatchSize: 8, maxQueueDelayUs: 60_000_000 }, maxQueue: 2, limiter, clock,
      runHeld: (inputs) => { runs.push(inputs[0]?.shape[0] ?? 0); return Promise.resolve([...inputs]); },
    });
    const expiring = batcher.submit([tensor(1)], ['y'], { deadline: clock.now() + 10 });
    const other = batcher.submit([tensor(1)], ['y']);
    await expect(batcher.submit([tensor(1)], ['y'])).rejects.toThrow(/batch queue is full \(2 waiting/);
    clock.advance(10);
    await expect(expiring).rejects.toThrow(new DeadlineExceededError("deadline passed while queued for a batch of model 'b'"));
    expect(batcher.pending).toBe(1);
    batcher.close();
    await expect(other).rejects.toBeInstanceOf(ShuttingDownError);
    await flush();
    expect(runs).toEqual([]);
    expect(clock.pending()).toBe(0);
  });
});
