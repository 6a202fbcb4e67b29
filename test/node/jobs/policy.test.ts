// The job runner's pure decisions: settings checks naming the field, retryable statuses,
// backoff bounds, the budget rule, and the store codec's round trip.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.ts';
import { decodeAnswer, decodeQuery, encodeAnswer, encodeQuery } from '../../../src/node/jobs/codec.ts';
import { backoffMs, budgetDecision, checkItemCount, compileSettings, isRetryableKind, LIMITS } from '../../../src/node/jobs/policy.ts';

describe('compileSettings', () => {
  it('fills defaults and makes the deadline absolute', () => {
    expect(compileSettings({}, 1000, 5000)).toEqual({
      deadlineMs: 6000, concurrency: LIMITS.defaultConcurrency, maxRetries: LIMITS.defaultRetries, idempotencyKey: '', itemTimeoutMs: 30_000, label: '',
    });
    const s = compileSettings({ deadline_s: 2, max_cost: 0, _max_cost: 'max_cost', max_retries: 0, _max_retries: 'max_retries', concurrency: 8 }, 1000, 5000);
    expect(s).toMatchObject({ deadlineMs: 3000, maxCost: 0, maxRetries: 0, concurrency: 8 });
  });

  it.each([
    [{ concurrency: 257 }, 'settings.concurrency'],
    [{ deadline_s: -1 }, 'settings.deadline_s'],
    [{ deadline_s: Number.NaN }, 'settings.deadline_s'],
    [{ max_cost: -2, _max_cost: 'max_cost' }, 'settings.max_cost'],
    [{ max_retries: 11, _max_retries: 'max_retries' }, 'settings.max_retries'],
    [{ item_timeout_s: -1 }, 'settings.item_timeout_s'],
    [{ idempotency_key: 'k'.repeat(129) }, 'settings.idempotency_key'],
  ])('refuses %j naming %s', (wire, field) => {
    expect(() => compileSettings(wire, 0, 1000)).toThrow(InvalidInputError);
    expect(() => compileSettings(wire, 0, 1000)).toThrow(field);
  });

  it('bounds items per call and per job', () => {
    expect(() => checkItemCount('items', LIMITS.maxItemsPerCall + 1, 1, 1e9)).toThrow(/AddItems/);
    expect(() => checkItemCount('items', 10, 101, 100)).toThrow(/maxItemsPerJob/);
    expect(() => checkItemCount('items', 10, 100, 100)).not.toThrow();
  });
});

describe('retries', () => {
  it('retries only statuses another try may fix', () => {
    expect(['unavailable', 'resource_exhausted', 'deadline_exceeded'].every((k) => isRetryableKind(k as never))).toBe(true);
    expect(['invalid_argument', 'not_found', 'failed_precondition', 'cancelled', 'internal'].some((k) => isRetryableKind(k as never))).toBe(false);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(1, () => 0)).toBe(LIMITS.backoffBaseMs / 2);
    expect(backoffMs(1, () => 1)).toBe(LIMITS.backoffBaseMs);
    expect(backoffMs(3, () => 1)).toBe(LIMITS.backoffBaseMs * 4);
    expect(backoffMs(30, () => 1)).toBe(LIMITS.backoffMaxMs);
  });
});

describe('budgetDecision', () => {
  it('runs freely without a budget', () => {
    expect(budgetDecision({ spent: 100, inFlight: 50 })).toEqual({ start: true });
  });

  it('runs one item alone until the first price is known, capped at what is left', () => {
    expect(budgetDecision({ maxCost: 5, spent: 0, inFlight: 0 })).toEqual({ start: true, cap: 5 });
    expect(budgetDecision({ maxCost: 5, spent: 0, inFlight: 1 })).toEqual({ start: false, stop: false });
  });

  it('counts items in flight at the highest price seen and stops when the next one would pass the budget', () => {
    expect(budgetDecision({ maxCost: 5, spent: 1, inFlight: 3, itemCost: 1 })).toEqual({ start: true, cap: 1 });
    expect(budgetDecision({ maxCost: 5, spent: 1, inFlight: 4, itemCost: 1 })).toEqual({ start: false, stop: false });
    expect(budgetDecision({ maxCost: 5, spent: 5, inFlight: 0, itemCost: 1 })).toEqual({ start: false, stop: true });
    expect(budgetDecision({ maxCost: 5, spent: 4.5, inFlight: 0, itemCost: 1 })).toEqual({ start: false, stop: true });
    expect(budgetDecision({ maxCost: 0, spent: 0, inFlight: 9, itemCost: 0 })).toEqual({ start: true, cap: 0 });
  });
});

describe('store codec', () => {
  it('round-trips a query and an answer', () => {
    const inputs = [
      { name: 'audio', datatype: 'BYTES' as const, shape: [2], data: [new Uint8Array([1, 2, 3]), new Uint8Array([])] },
      { name: 'x', datatype: 'FP32' as const, shape: [1, 3], data: new Float32Array([0.5, -1, 2]) },
      { name: 'n', datatype: 'INT64' as const, shape: [], data: new BigInt64Array([16000n]) },
    ];
    const q = encodeQuery({ model: 'm', version: '2', outputs: ['y'], parameters: { 'plexus.max_cost': 3, a: 'b', c: true }, inputs });
    expect(decodeQuery(q.text, q.blob)).toEqual({ model: 'm', version: '2', outputs: ['y'], parameters: { 'plexus.max_cost': 3, a: 'b', c: true }, inputs });
    const a = encodeAnswer({ model: 'm', version: '1', id: 'x', outputs: [inputs[1] as never], parameters: { 'plexus.cost': 1 } });
    expect(decodeAnswer(a.text, a.blob)).toEqual({ model: 'm', version: '1', parameters: { 'plexus.cost': 1 }, outputs: [inputs[1]] });
    expect(() => decodeQuery(q.text, q.blob.subarray(1))).toThrow(InvalidInputError);
  });
});
