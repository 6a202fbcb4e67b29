// Issue 13's per-query targets read the throughput scenario's own ratios: pass, miss, and N/A.
import { describe, expect, it } from 'vitest';
import { evaluateTargets } from '../../bench/targets.ts';
import type { ScenarioResult } from '../../bench/types.ts';

const throughput = (metrics: Record<string, number | null>): ReadonlyMap<string, ScenarioResult> => new Map([['throughput', {
  name: 'throughput', title: 't', status: 'ok', durationMs: 1, columns: [], rows: [], notes: [], metrics,
} satisfies ScenarioResult]]);

const byId = (ts: ReturnType<typeof evaluateTargets>, id: string): boolean | null | undefined => ts.find((t) => t.id === id)?.pass;

describe('throughput targets', () => {
  it('pass at the limits with no errors, miss below them or with errors, N/A unmeasured', () => {
    const good = evaluateTargets(throughput({
      localVsEchoC64: 0.5, routerVsEchoC64: 0.41, localC64Errors: 0, routerC64Errors: 0,
      localOverheadVsEchoRtt: 1, localOverheadC1Ms: 0.3, hopVsEchoRtt: 0.9, hopC1Ms: 0.27, echoC1P50Ms: 0.3,
    }));
    expect(['local-throughput', 'router-throughput', 'c1-local-overhead', 'c1-hop'].map((id) => byId(good, id))).toEqual([true, true, true, true]);
    const bad = evaluateTargets(throughput({
      localVsEchoC64: 0.6, routerVsEchoC64: 0.39, localC64Errors: 2, routerC64Errors: 0,
      localOverheadVsEchoRtt: 5.8, localOverheadC1Ms: 1.1, hopVsEchoRtt: 1.01, hopC1Ms: 0.3, echoC1P50Ms: 0.3,
    }));
    expect(['local-throughput', 'router-throughput', 'c1-local-overhead', 'c1-hop'].map((id) => byId(bad, id))).toEqual([false, false, false, false]);
    expect(byId(evaluateTargets(new Map()), 'local-throughput')).toBeNull();
  });

  it('names each c=1 floor beside its target when it was measured', () => {
    const base = { localOverheadVsEchoRtt: 2.1, localOverheadC1Ms: 1.0, hopVsEchoRtt: 3, hopC1Ms: 1.4, echoC1P50Ms: 0.48 };
    const detail = (m: Record<string, number>, id: string): string | undefined => evaluateTargets(throughput(m)).find((t) => t.id === id)?.detail;
    const floors = { ...base, localOverheadFloorVsEchoRtt: 1.3, hopFloorVsEchoRtt: 0.7 };
    expect(detail(floors, 'c1-local-overhead')).toContain('floor: 1.300× (a bare grpc-js server running the model in a worker thread');
    expect(detail(floors, 'c1-hop')).toContain('floor: 0.700× (a bare grpc-js relay over libp2p to an echo');
    expect(detail(base, 'c1-local-overhead')).not.toContain('floor');
    expect(detail(base, 'c1-hop')).not.toContain('floor');
  });

  it('shows the range over the rounds, and calls a median at or below zero noise, not a pass', () => {
    const base = { localOverheadVsEchoRtt: 2.1, localOverheadC1Ms: 1.0, hopVsEchoRtt: 1.3, hopC1Ms: 0.6, echoC1P50Ms: 0.48 };
    const check = (m: Record<string, number>, id: string) => evaluateTargets(throughput(m)).find((t) => t.id === id);
    expect(check({ ...base, hopVsEchoRttMin: 1.1, hopVsEchoRttMax: 1.6 }, 'c1-hop')?.detail).toContain('1.300× the echo round trip (0.480 ms) (rounds: 1.100–1.600×)');
    expect(check(base, 'c1-hop')?.detail).not.toContain('rounds');
    const noisy = check({ ...base, hopVsEchoRtt: -0.6, hopC1Ms: -0.3 }, 'c1-hop');
    expect(noisy?.pass).toBeNull();
    expect(noisy?.detail).toContain('within this run\'s noise');
    expect(check({ ...base, hopVsEchoRtt: 0 }, 'c1-hop')?.pass).toBeNull();
    const c64 = check({ ...base, localVsEchoC64: 0.52, localVsEchoC64Min: 0.48, localVsEchoC64Max: 0.55 }, 'local-throughput');
    expect(c64?.detail).toContain('0.520× the echo (rounds: 0.480–0.550×) (limit 0.5×)');
    expect(c64?.pass).toBe(true);
  });
});
