import { describe, expect, it } from 'vitest';
import { idleRssMarks } from '../../bench/scenarios/idle-rss.ts';
import { evaluateTargets } from '../../bench/targets.ts';
import type { ScenarioResult } from '../../bench/types.ts';

function idleRss(metrics: Record<string, number | null>): ScenarioResult {
  return { name: 'idle-rss', title: 't', status: 'ok', durationMs: 1, columns: [], rows: [], metrics, notes: [] };
}

describe('idle-rss bench', () => {
  it('reads RSS at 1, 5 and 10 minutes by default, shorter with --quick, or at the marks the env names', () => {
    expect(idleRssMarks(false, undefined)).toEqual([60, 300, 600]);
    expect(idleRssMarks(true, undefined)).toEqual([30, 60, 120]);
    expect(idleRssMarks(false, ' 600, 20,120')).toEqual([20, 120, 600]);
    expect(idleRssMarks(false, '')).toEqual([60, 300, 600]);
    expect(() => idleRssMarks(false, '60,x')).toThrow(/PLEXUS_IDLE_RSS_MARKS/);
    expect(() => idleRssMarks(false, '0')).toThrow(/PLEXUS_IDLE_RSS_MARKS/);
  });

  it('judges the 80 MB target only on a 10-minute window', () => {
    const target = (metrics: Record<string, number | null>) =>
      evaluateTargets(new Map([['idle-rss', idleRss(metrics)]])).find((t) => t.id === 'rss-idle-no-model');
    expect(target({ idleRssMb: 78, idleRssEndS: 600 })?.pass).toBe(true);
    expect(target({ idleRssMb: 81, idleRssEndS: 600 })?.pass).toBe(false);
    expect(target({ idleRssMb: 70, idleRssEndS: 120 })?.pass).toBeNull();
    expect(evaluateTargets(new Map()).find((t) => t.id === 'rss-idle-no-model')?.pass).toBeNull();
  });
});
