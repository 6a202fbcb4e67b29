// The pure text of `plexus job`: the progress line (items, rate, ETA, failures by status) and
// the status block.
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/client/index.ts';
import { formatJob, progressLine } from '../../src/cli/job-format.ts';

const job = (over: Partial<JobStatus> = {}): JobStatus => ({
  jobId: 'job-1', state: 'RUNNING', stopReason: '', label: 'calls', idempotencyKey: '', items: 50, done: 20, failed: 2, pending: 24, running: 4,
  cancelled: 0, skipped: 0, cost: 22, createdMs: Date.UTC(2026, 10, 26, 13, 0, 0), updatedMs: 0, endedMs: 0, deadlineMs: Date.UTC(2026, 10, 27, 13, 0, 0),
  open: false, concurrency: 4, failures: { NOT_FOUND: 2 }, ...over,
});

describe('progressLine', () => {
  it('shows items, rate, ETA and failures by status', () => {
    expect(progressLine(job(), 11, 2000, 10)).toBe('[####......] 22/50  5.5 items/s  ETA 6s  failed: NOT_FOUND 2');
  });
  it('has no ETA before any rate, and says done at the end', () => {
    expect(progressLine(job({ failures: {} }), 0, 0, 10)).toBe('[####......] 22/50  0.0 items/s  ETA -');
    expect(progressLine(job({ done: 48, pending: 0, running: 0 }), 48, 4000, 10)).toBe('[##########] 50/50  12.0 items/s  done  failed: NOT_FOUND 2');
  });
});

describe('formatJob', () => {
  it('prints counts, cost against the budget, times and why it stopped', () => {
    const text = formatJob(job({ state: 'BUDGET_EXHAUSTED', maxCost: 22, stopReason: 'budget: 22 of max_cost 22 spent', skipped: 28, pending: 0, running: 0, endedMs: Date.UTC(2026, 10, 26, 13, 0, 5) }));
    expect(text).toBe([
      'job-1  BUDGET_EXHAUSTED  (calls)',
      'items    50: 20 done, 2 failed, 0 pending, 0 running, 28 skipped',
      'cost     22 of max 22',
      'times    created 2026-11-26 13:00:00, ended 13:00:05, deadline 2026-11-27 13:00:00 UTC',
      'failures NOT_FOUND 2',
      'stopped  budget: 22 of max_cost 22 spent',
      '',
    ].join('\n'));
  });
});
