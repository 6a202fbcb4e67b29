// The machine's steal time beside each throughput window (bench/procs.ts): read from this
// machine's own /proc/stat, and the share between two readings.
import { describe, expect, it } from 'vitest';
import { machineCpuTicks, stealPct } from '../../bench/procs.ts';

describe('steal time', () => {
  it('reads the machine\'s CPU ticks, steal among them, and they only grow', async () => {
    const a = machineCpuTicks();
    expect(a).not.toBeNull();
    expect(a?.steal).toBeGreaterThanOrEqual(0);
    expect(a?.total).toBeGreaterThan(a?.steal ?? 0);
    await new Promise((r) => setTimeout(r, 50));
    const b = machineCpuTicks();
    expect(b?.total).toBeGreaterThanOrEqual(a?.total ?? Infinity);
    expect(b?.steal).toBeGreaterThanOrEqual(a?.steal ?? Infinity);
  });

  it('gives the stolen share of the time between two readings, none without time between them', () => {
    expect(stealPct({ total: 1000, steal: 10 }, { total: 1400, steal: 30 })).toBe(5);
    expect(stealPct({ total: 1000, steal: 10 }, { total: 1000, steal: 10 })).toBeNull();
    expect(stealPct(null, { total: 1, steal: 0 })).toBeNull();
  });
});
