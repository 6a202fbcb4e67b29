import { describe, expect, it } from 'vitest';
import { DialBudget } from '../../../src/routing/dial-budget.ts';
import { DEFAULT_PEER_LIMITS } from '../../../src/routing/peer-limits.ts';

const limits = { ...DEFAULT_PEER_LIMITS, hintDialsPerSecond: 2, hintDialBurst: 4, hintDialsConcurrent: 3, hintBackoffMinMs: 1000, hintBackoffMaxMs: 8000 };

describe('DialBudget', () => {
  it('500 origins offered at once: only the in-flight bound starts, then the rate', () => {
    const b = new DialBudget(limits, 0);
    const started = Array.from({ length: 500 }, (_, i) => `o${i}`).filter((o) => b.take(o, 0));
    expect(started).toEqual(['o0', 'o1', 'o2']);
    for (const o of started) b.done(o, false, 0);
    // One token left of the burst of 4; then 2 a second.
    const next = Array.from({ length: 500 }, (_, i) => `o${i + 3}`).filter((o) => b.take(o, 0));
    expect(next).toHaveLength(1);
    let total = 4;
    for (let t = 100; t <= 10_000; t += 100) {
      for (let i = 0; i < 500; i++) {
        const o = `p${i}`;
        if (b.take(o, t)) { total++; b.done(o, false, t); }
      }
    }
    // 10 s at 2 a second, plus the burst: never hundreds.
    expect(total).toBeLessThanOrEqual(4 + 2 * 10 + 1);
  });

  it('backs off an origin whose dial failed, doubling to the maximum; success clears it', () => {
    const b = new DialBudget({ ...limits, hintDialsPerSecond: 1000, hintDialBurst: 1000 }, 0);
    const tries: number[] = [];
    for (let t = 0; t <= 40_000; t += 100) {
      if (b.take('o', t)) { tries.push(t); b.done('o', false, t); }
    }
    expect(tries.slice(0, 5)).toEqual([0, 1000, 3000, 7000, 15_000]);
    expect(tries[5]).toBe(23_000); // capped at 8 s
    expect(b.take('x', 0)).toBe(true);
    b.done('x', true, 0);
    expect(b.take('x', 1)).toBe(true);
  });

  it('one dial per origin at a time; cancel and forget leave no state', () => {
    const b = new DialBudget(limits, 0);
    expect(b.take('o', 0)).toBe(true);
    expect(b.take('o', 0)).toBe(false);
    b.cancel('o');
    expect(b.take('o', 0)).toBe(true);
    b.done('o', false, 0);
    expect(b.size).toBe(1);
    b.forget('o');
    expect(b.size).toBe(0);
  });
});
