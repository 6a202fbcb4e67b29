// The soak's bookkeeping (bench/soak/tally.ts): what counts as answered, failed, late and hung.
import { describe, expect, it } from 'vitest';
import { classify, emptyTally, growthPct, record, statusSummary } from '../../bench/soak/tally.ts';

describe('soak tally', () => {
  it('classifies by the deadline plus the tolerance, and a caller that gave up as hung', () => {
    expect(classify({ elapsedMs: 900, deadlineMs: 1000, gaveUp: false }, 100)).toEqual({ kind: 'ok' });
    expect(classify({ elapsedMs: 1100, deadlineMs: 1000, gaveUp: false }, 100)).toEqual({ kind: 'ok' });
    expect(classify({ elapsedMs: 1101, deadlineMs: 1000, gaveUp: false }, 100)).toEqual({ kind: 'late', status: 'OK' });
    expect(classify({ elapsedMs: 10, deadlineMs: 1000, status: 'UNAVAILABLE', gaveUp: false }, 100)).toEqual({ kind: 'failed', status: 'UNAVAILABLE' });
    expect(classify({ elapsedMs: 1500, deadlineMs: 1000, status: 'DEADLINE_EXCEEDED', gaveUp: false }, 100)).toEqual({ kind: 'late', status: 'DEADLINE_EXCEEDED' });
    expect(classify({ elapsedMs: 6000, deadlineMs: 1000, gaveUp: true }, 100)).toEqual({ kind: 'hung' });
  });

  it('counts a window and names its failures, most frequent first', () => {
    const t = emptyTally();
    record(t, { elapsedMs: 50, deadlineMs: 1000, gaveUp: false }, 100);
    record(t, { elapsedMs: 20, deadlineMs: 1000, status: 'UNAVAILABLE', gaveUp: false }, 100);
    record(t, { elapsedMs: 30, deadlineMs: 1000, status: 'UNAVAILABLE', gaveUp: false }, 100);
    record(t, { elapsedMs: 990, deadlineMs: 1000, status: 'DEADLINE_EXCEEDED', gaveUp: false }, 100);
    record(t, { elapsedMs: 7000, deadlineMs: 1000, gaveUp: true }, 100);
    expect([t.ok, t.failed, t.late, t.hung]).toEqual([1, 3, 0, 1]);
    expect(statusSummary(t.byStatus)).toBe('UNAVAILABLE 2, DEADLINE_EXCEEDED 1');
    expect(t.maxOverMs).toBe(-10); // the hung one has no ending to measure
    expect(statusSummary(new Map())).toBe('–');
  });

  it('RSS growth in percent, null without both samples', () => {
    expect(growthPct(200, 220)).toBeCloseTo(10);
    expect(growthPct(null, 220)).toBeNull();
    expect(growthPct(200, null)).toBeNull();
  });
});
