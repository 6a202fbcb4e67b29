import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, percentileSorted, ratio, round, summarize } from '../../bench/stats.ts';
import { toMarkdown, toSvg, writeReport } from '../../bench/report.ts';
import { evaluateTargets } from '../../bench/targets.ts';
import type { BenchReport, ScenarioResult } from '../../bench/types.ts';

describe('bench stats', () => {
  it('interpolates percentiles between closest ranks', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([4, 3, 2, 1, 5], 50)).toBe(3);
    expect(percentileSorted([0, 10], 99)).toBeCloseTo(9.9, 10);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    const hundred = Array.from({ length: 101 }, (_, i) => i);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 0)).toBe(0);
    expect(percentile(hundred, 100)).toBe(100);
  });

  it('rejects percentiles outside 0..100', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
  });

  it('summarizes without mutating the input', () => {
    const xs = [5, 1, 4, 2, 3];
    const s = summarize(xs);
    expect(xs).toEqual([5, 1, 4, 2, 3]);
    expect(s).toMatchObject({ n: 5, min: 1, max: 5, mean: 3, p50: 3, median: 3 });
    expect(s.p99).toBeCloseTo(4.96, 10);
  });

  it('forms ratios only when both sides exist', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(3, 0)).toBeNull();
    expect(ratio(null, 2)).toBeNull();
    expect(ratio(Number.NaN, 2)).toBeNull();
    expect(round(1.23456)).toBe(1.235);
    expect(round(123.456)).toBe(123.5);
    expect(round(Number.POSITIVE_INFINITY)).toBeNull();
  });
});

function sampleReport(): BenchReport {
  const limits: ScenarioResult = {
    name: 'limits', title: '1. Limits <raw>', status: 'ok', durationMs: 10,
    columns: ['qps', 'p50Ms', 'p99Ms'],
    rows: [
      { label: 'ORT | loop', values: { qps: 1000, p50Ms: 0.3, p99Ms: 0.9 } },
      { label: 'gRPC', values: { qps: 500, p50Ms: 0.8, p99Ms: 4 } },
    ],
    metrics: { ortSileroP50Ms: 0.3, grpcRttP50Ms: 0.8, libp2pRttP50Ms: 0.3 },
    notes: ['a note'],
  };
  const plexus: ScenarioResult = {
    name: 'plexus', title: '2. Plexus', status: 'ok', durationMs: 10, columns: [], rows: [],
    metrics: { localC1P50Ms: 1.5, hop1C1P50Ms: 1.8, hop2C1P50Ms: 2.6 }, notes: [],
  };
  const skipped: ScenarioResult = {
    name: 'batching', title: '3. Batching', status: 'skipped', reason: 'engine has no dynamic batching', durationMs: 0,
    columns: [], rows: [], metrics: {}, notes: [],
  };
  const scenarios = [limits, plexus, skipped];
  return {
    startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:00.000Z', quick: true, only: null,
    machine: { cpuModel: 'Test CPU', cores: 2, memoryGiB: 4, node: '22.0.0', platform: 'linux', arch: 'x64', onnxruntime: '1.30.0' },
    model: 'silero-vad', scenarios, targets: evaluateTargets(new Map(scenarios.map((s) => [s.name, s]))),
  };
}

describe('bench targets', () => {
  it('evaluates from measured metrics and marks the unmeasured N/A', () => {
    const t = new Map(sampleReport().targets.map((x) => [x.id, x]));
    // overhead 1.2 ms > 0.96 ms limit
    expect(t.get('local-overhead')?.pass).toBe(false);
    // hops 0.3 and 0.8 ms; limit 0.45 ms
    expect(t.get('hop-cost')?.pass).toBe(false);
    expect(t.get('batching')?.pass).toBeNull();
    expect(t.get('batching')?.detail).toContain('not measured');
  });
});

describe('bench report writers', () => {
  it('writes a markdown table with escaped cells and the skip reason', () => {
    const md = toMarkdown(sampleReport());
    expect(md).toContain('| case | qps | p50Ms | p99Ms |');
    expect(md).toContain('| ORT \\| loop | 1000 | 0.3 | 0.9 |');
    expect(md).toContain('_skipped: engine has no dynamic batching_');
    expect(md).toContain('Test CPU, 2 cores');
    expect(md).toMatch(/\| Local query overhead .* \| MISS \|/);
  });

  it('draws an SVG with a bar per latency row, escaped text and verdict badges', () => {
    const svg = toSvg(sampleReport());
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('1. Limits &lt;raw&gt;');
    expect(svg).not.toContain('<raw>');
    // two rows -> two p50 bars (dark) and two p99 bars (light)
    expect(svg.match(/fill="#2171b5"/g)).toHaveLength(2);
    expect(svg.match(/fill="#9ecae1"/g)).toHaveLength(2);
    expect(svg).toContain('>MISS<');
    expect(svg).toContain('>N/A<');
    // the p99 bar of the slower row is longer than its p50 bar
    const widths = [...svg.matchAll(/<rect x="\d+" y="[\d.]+" width="([\d.]+)" height="13"/g)].map((m) => Number(m[1]));
    expect(widths).toHaveLength(4);
    expect(widths.every((w) => w >= 0)).toBe(true);
  });

  it('writes timestamped and latest files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-test-'));
    const files = writeReport(sampleReport(), dir);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
      '2026-01-01T00-00-00-000Z.json', 'latest.json', 'latest.md', 'latest.svg',
    ]);
    for (const f of files) expect(existsSync(f)).toBe(true);
    const parsed = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as BenchReport;
    expect(parsed.scenarios).toHaveLength(3);
    // With --only, the timestamped file names what it holds.
    expect(writeReport({ ...sampleReport(), only: ['throughput', 'idle-rss'] }, dir)[0]?.slice(dir.length + 1)).toBe('2026-01-01T00-00-00-000Z-throughput+idle-rss.json');
  });
});
