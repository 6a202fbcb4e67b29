// When the p2p service looks at the local models again (src/node/p2p/local-watch.ts), on fake
// timers: a change at once, run activity at most once per 100 ms plus once after 1.1 s of quiet,
// nothing at all while idle, and no timer left after stopping.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LOAD_LOOK_MS, QUIET_LOOK_MS, watchLocalModels } from '../../../src/node/p2p/local-watch.ts';

function fakeEngine() {
  const change = new Set<() => void>();
  const activity = new Set<() => void>();
  const on = (set: Set<() => void>) => (l: () => void): (() => void) => { set.add(l); return () => { set.delete(l); }; };
  return {
    onChange: on(change), onActivity: on(activity),
    changed: () => { for (const l of change) l(); },
    ran: () => { for (const l of activity) l(); },
    listeners: () => change.size + activity.size,
  };
}

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('local model watch', () => {
  it('looks at once on a model change, and sets no timer while idle', () => {
    const engine = fakeEngine();
    let looks = 0;
    const stop = watchLocalModels(engine, () => { looks++; });
    engine.changed();
    expect(looks).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(looks).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    stop();
    expect(engine.listeners()).toBe(0);
  });

  it('looks once per 100 ms while runs start and end, then once after 1.1 s of quiet', () => {
    const engine = fakeEngine();
    let looks = 0;
    const stop = watchLocalModels(engine, () => { looks++; });
    for (let i = 0; i < 10; i++) {
      engine.ran();
      vi.advanceTimersByTime(LOAD_LOOK_MS / 5);
    }
    // 200 ms of activity: two looks.
    expect(looks).toBe(2);
    vi.advanceTimersByTime(QUIET_LOOK_MS - LOAD_LOOK_MS / 5 - 1);
    expect(looks).toBe(2);
    vi.advanceTimersByTime(1);
    expect(looks).toBe(3);
    vi.advanceTimersByTime(60_000);
    expect(looks).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
    stop();
  });

  it('stopping clears its timers and listeners', () => {
    const engine = fakeEngine();
    let looks = 0;
    const stop = watchLocalModels(engine, () => { looks++; });
    engine.ran();
    expect(vi.getTimerCount()).toBe(2);
    stop();
    expect(vi.getTimerCount()).toBe(0);
    engine.ran();
    engine.changed();
    vi.advanceTimersByTime(10_000);
    expect(looks).toBe(0);
  });
});
