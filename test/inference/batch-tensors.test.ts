// The tensor plumbing of dynamic batching, on any batch axis: stacking requests and cutting the
// batch's outputs back gives every request exactly its own rows; keys keep apart what cannot stack.
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { axisLookup, fixedBatchReason, requestRows, SHARED_KEY_MAX_BYTES, shapeKey, splitOutputs, stackInputs } from '../../src/inference/batch-tensors.ts';
import type { Tensor } from '../../src/inference/types.ts';

/** Dims around the batch axis, the axis, and each request's rows. */
const layout = fc.record({
  dims: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 3 }),
  axisPick: fc.nat(),
  rows: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }),
  bytes: fc.boolean(),
});

function tensorOf(name: string, shape: number[], bytes: boolean, seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (bytes) return { name, datatype: 'BYTES', shape, data: Array.from({ length: n }, (_, i) => Uint8Array.of(seed, i)) };
  return { name, datatype: 'FP32', shape, data: Float32Array.from({ length: n }, (_, i) => seed * 1000 + i) };
}

const plain = (t: Tensor): unknown => ({ ...t, data: Array.isArray(t.data) ? t.data.map((b) => [...b]) : [...t.data] });

describe('stackInputs and splitOutputs', () => {
  it('give each request back exactly its own rows, on any axis, numeric or BYTES', () => {
    fc.assert(fc.property(layout, ({ dims, axisPick, rows, bytes }) => {
      const axis = axisPick % (dims.length + 1);
      const shapeFor = (r: number): number[] => [...dims.slice(0, axis), r, ...dims.slice(axis)];
      const axisOf = axisLookup({ x: axis });
      const requests = rows.map((r, k) => [tensorOf('x', shapeFor(r), bytes, k + 1)]);
      expect(requests.map((r) => requestRows(r, axisOf))).toEqual(rows);
      expect(new Set(requests.map((r) => shapeKey(r, [], axisOf))).size).toBe(1);
      const [stacked] = stackInputs(requests, axisOf);
      expect(stacked?.shape).toEqual(shapeFor(rows.reduce((a, b) => a + b, 0)));
      // The model's output is its input here (an identity): cutting it must undo the stacking.
      const back = splitOutputs('m', [stacked as Tensor], rows, axisOf);
      expect(back.map((outs) => outs.map(plain))).toEqual(requests.map((r) => r.map(plain)));
    }));
  });

  it('feed a shared input once, from the first request', () => {
    const axisOf = axisLookup({ sr: 'shared' });
    const sr: Tensor = { name: 'sr', datatype: 'INT64', shape: [], data: BigInt64Array.from([16000n]) };
    const requests = [[tensorOf('x', [1, 2], false, 1), sr], [tensorOf('x', [2, 2], false, 2), { ...sr }]];
    const stacked = stackInputs(requests, axisOf);
    expect(stacked[1]).toBe(sr);
    expect(stacked[0]?.shape).toEqual([3, 2]);
    expect(requests.map((r) => requestRows(r, axisOf))).toEqual([1, 2]);
  });

  it('fail a batch whose output does not have the batch rows on its axis', () => {
    const out = tensorOf('y', [2, 5, 3], false, 1);
    expect(() => splitOutputs('m', [out], [2, 2], axisLookup({ y: 1 }))).toThrow(/output 'y' with dim 1 = 5 for a batch of 4 rows/);
  });
});

describe('shapeKey', () => {
  const sr = (v: bigint): Tensor => ({ name: 'sr', datatype: 'INT64', shape: [], data: BigInt64Array.from([v]) });
  const axisOf = axisLookup({ sr: 'shared', state: 1 });
  const x = (w: number): Tensor => tensorOf('x', [1, w], false, 1);
  const state = (n: number): Tensor => tensorOf('state', [2, n, 4], false, 1);

  it('is equal across rows on the batch axis, and apart on other dims, outputs or shared values', () => {
    const k = (inputs: Tensor[], outs: string[] = []): string | undefined => shapeKey(inputs, outs, axisOf);
    expect(k([x(4), state(1), sr(16000n)])).toBe(k([tensorOf('x', [3, 4], false, 9), state(3), sr(16000n)]));
    expect(k([x(4), state(1), sr(16000n)])).not.toBe(k([x(5), state(1), sr(16000n)]));
    expect(k([x(4), state(1), sr(16000n)])).not.toBe(k([x(4), state(1), sr(8000n)]));
    expect(k([x(4), state(1), sr(16000n)])).not.toBe(k([x(4), state(1), sr(16000n)], ['y']));
  });

  it('is undefined (the request runs alone) for a shared input too large to compare', () => {
    const big: Tensor = { name: 'sr', datatype: 'FP32', shape: [SHARED_KEY_MAX_BYTES / 4 + 1], data: new Float32Array(SHARED_KEY_MAX_BYTES / 4 + 1) };
    expect(shapeKey([x(4), big], [], axisOf)).toBeUndefined();
    expect(shapeKey([x(4), { ...big, shape: [SHARED_KEY_MAX_BYTES / 4], data: new Float32Array(SHARED_KEY_MAX_BYTES / 4) }], [], axisOf)).toBeDefined();
  });

  it('leaves rows undefined when stacked inputs disagree on their batch axis', () => {
    expect(requestRows([x(4), state(2)], axisOf)).toBeUndefined();
    expect(requestRows([tensorOf('x', [2, 4], false, 1), state(2), sr(1n)], axisOf)).toBe(2);
  });
});

describe('fixedBatchReason', () => {
  const spec = (name: string, shape: number[]): { name: string; datatype: 'FP32'; shape: number[] } => ({ name, datatype: 'FP32', shape });
  it('accepts dim 0 by default and the named axes, and says what does not fit', () => {
    expect(fixedBatchReason([spec('x', [-1, 4])], [spec('y', [-1])])).toBeUndefined();
    expect(fixedBatchReason([spec('s', [2, -1, 8])], [spec('y', [-1])], { s: 1 })).toBeUndefined();
    expect(fixedBatchReason([spec('s', [2, -1, 8])], [spec('y', [-1])])).toMatch(/input 's' has a fixed batch dimension \(dim 0 = 2\)/);
    expect(fixedBatchReason([spec('x', [-1])], [spec('y', [])])).toMatch(/output 'y' is a scalar/);
  });
});

describe('BYTES batches', () => {
  it('stack and cut a large BYTES tensor (no spread of its elements)', () => {
    const n = 300_000;
    const t = (seed: number): Tensor => ({ name: 'x', datatype: 'BYTES', shape: [1, n], data: Array.from({ length: n }, (_, i) => Uint8Array.of(seed, i & 255)) });
    const [stacked] = stackInputs([[t(1)], [t(2)]], axisLookup({ x: 0 }));
    expect(stacked?.shape).toEqual([2, n]);
    const back = splitOutputs('m', [stacked as Tensor], [1, 1], axisLookup({ x: 0 }));
    expect((back[1]?.[0]?.data as Uint8Array[])[n - 1]).toEqual(Uint8Array.of(2, (n - 1) & 255));
  });
});
