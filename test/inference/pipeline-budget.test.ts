// Pure parts of the pipeline runner: the budget and parameters each step call is sent, the
// loop guard, the per-call records, and a fan-out's cut and join along dim 0.
import { describe, expect, it } from 'vitest';
import { NoFeasibleRouteError, PipelineLoopError } from '../../src/errors.ts';
import { CHAIN_PARAM, enterChain, maxCostOf, recordOf, reportedCost, shareOf, stepParameters } from '../../src/inference/pipeline/budget.ts';
import { chunkRanges, concatRows, sliceRows } from '../../src/inference/pipeline/split.ts';
import type { Tensor } from '../../src/inference/types.ts';

describe('pipeline budget and parameters', () => {
  it('passes per-step constraints on, owns the deadline and the budget', () => {
    const params = { 'plexus.max_hops': 2, 'plexus.peer': 'P', 'plexus.provider': 'cpu', 'plexus.deadline_ms': 500, 'plexus.max_cost': 10, 'plexus.verify': true, note: 'x' };
    expect(stepParameters(params, ['outer', 'ocr-read'], 4)).toEqual({
      'plexus.max_hops': 2, 'plexus.peer': 'P', 'plexus.provider': 'cpu', note: 'x', [CHAIN_PARAM]: 'outer,ocr-read', 'plexus.max_cost': 4,
    });
    expect(stepParameters({}, ['p'], Infinity)).toEqual({ [CHAIN_PARAM]: 'p' });
    expect(maxCostOf({ 'plexus.max_cost': '3.5' })).toBe(3.5);
    expect(maxCostOf({ 'plexus.max_cost': 0 })).toBe(0);
    expect(maxCostOf({})).toBe(Infinity);
  });

  it('splits what is left evenly over parallel calls, and refuses a spent budget', () => {
    expect(shareOf(6, 3, 's')).toBe(2);
    expect(shareOf(0, 2, 's')).toBe(0);
    expect(shareOf(Infinity, 5, 's')).toBe(Infinity);
    expect(() => shareOf(-1, 1, "pipeline 'p' step 'b'")).toThrow(NoFeasibleRouteError);
  });

  it('refuses a pipeline met again on its own chain, and deep nesting', () => {
    expect(enterChain({}, 'a')).toEqual(['a']);
    expect(enterChain({ [CHAIN_PARAM]: 'a,b' }, 'c')).toEqual(['a', 'b', 'c']);
    expect(() => enterChain({ [CHAIN_PARAM]: 'a,b' }, 'a')).toThrow(PipelineLoopError);
    expect(() => enterChain({ [CHAIN_PARAM]: 'a,b' }, 'a')).toThrow(/chain a -> b -> a/);
    expect(() => enterChain({ [CHAIN_PARAM]: 'a,b,c,d,e,f,g,h' }, 'i')).toThrow(/nested more than 8 deep/);
  });

  it('records a call from the routed answer, and clamps a reported cost', () => {
    expect(recordOf('ocr.detect', { 'plexus.served_by': 'X', 'plexus.route': 'P,X', 'plexus.cost': 2 }, 12.345))
      .toEqual({ capability: 'ocr.detect', served_by: 'X', route: 'P,X', ms: 12.3, cost: 2 });
    expect(reportedCost({ 'plexus.cost': -5 })).toBe(0);
    expect(reportedCost({ 'plexus.cost': 'NaN' })).toBe(0);
    expect(reportedCost({ 'plexus.cost': 3 })).toBe(3);
  });
});

describe('fan-out: cut and join along dim 0', () => {
  const boxes: Tensor = { name: 'boxes', datatype: 'FP32', shape: [5, 4, 2], data: Float32Array.from({ length: 40 }, (_, i) => i) };
  it('cuts into chunks of at most n rows and joins them back in order', () => {
    expect(chunkRanges(5, 2)).toEqual([[0, 2], [2, 4], [4, 5]]);
    expect(chunkRanges(0, 8)).toEqual([[0, 0]]);
    const parts = chunkRanges(5, 2).map(([s, e]) => sliceRows(boxes, s, e));
    expect(parts.map((p) => p.shape)).toEqual([[2, 4, 2], [2, 4, 2], [1, 4, 2]]);
    expect(Array.from(parts[2]?.data as Float32Array)).toEqual([32, 33, 34, 35, 36, 37, 38, 39]);
    const joined = concatRows(parts, 'boxes');
    expect(joined.shape).toEqual([5, 4, 2]);
    expect(Array.from(joined.data as Float32Array)).toEqual(Array.from(boxes.data as Float32Array));
    const text = (xs: string[]): Tensor => ({ name: 'text', datatype: 'BYTES', shape: [xs.length], data: xs.map((x) => new TextEncoder().encode(x)) });
    const t = concatRows([text(['a', 'b']), text([]), text(['c'])], 'text');
    expect(t.shape).toEqual([3]);
    expect((t.data as Uint8Array[]).map((b) => new TextDecoder().decode(b))).toEqual(['a', 'b', 'c']);
  });
  it('refuses chunks whose outputs disagree', () => {
    expect(() => concatRows([boxes, { ...boxes, shape: [10, 4] }], 'boxes')).toThrow(/chunks' outputs disagree/);
    expect(() => concatRows([], 'boxes')).toThrow(/no chunk answered/);
  });
});
