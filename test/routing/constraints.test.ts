import { describe, expect, it } from 'vitest';
import { parseConstraints } from '../../src/routing/constraints.ts';
import { InvalidInputError } from '../../src/errors.ts';

const NOW = 1_000_000;

function rejects(params: Record<string, string | number | boolean>, pattern: RegExp): void {
  let err: unknown;
  try { parseConstraints(params, undefined, NOW); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(InvalidInputError);
  expect((err as Error).message).toMatch(pattern);
}

describe('parseConstraints', () => {
  it('defaults to balanced with nothing else set', () => {
    expect(parseConstraints({}, undefined, NOW)).toEqual({ prefer: 'balanced' });
  });

  it('reads every plexus.* parameter, from strings or numbers', () => {
    const c = parseConstraints({
      'plexus.deadline_ms': '250', 'plexus.max_cost': 2.5, 'plexus.max_hops': ' 3 ', 'plexus.prefer': 'COST',
      'plexus.peer': ' 12D3KooWabc ', 'plexus.provider': 'cuda', 'other.key': 'ignored',
    }, undefined, NOW);
    expect(c).toEqual({ prefer: 'cost', deadlineMs: 250, maxCost: 2.5, maxHops: 3, peer: '12D3KooWabc', provider: 'cuda' });
  });

  it('takes the tighter of plexus.deadline_ms and the transport deadline', () => {
    expect(parseConstraints({ 'plexus.deadline_ms': 500 }, NOW + 100, NOW).deadlineMs).toBe(100);
    expect(parseConstraints({ 'plexus.deadline_ms': 50 }, NOW + 100, NOW).deadlineMs).toBe(50);
    expect(parseConstraints({}, NOW + 80, NOW).deadlineMs).toBe(80);
    // A transport deadline already past leaves 0 ms, which no route can fit.
    expect(parseConstraints({}, NOW - 5, NOW).deadlineMs).toBe(0);
    expect(parseConstraints({}, Infinity, NOW).deadlineMs).toBeUndefined();
  });

  it('accepts the boundaries', () => {
    expect(parseConstraints({ 'plexus.max_cost': 0, 'plexus.max_hops': 0 }, undefined, NOW)).toMatchObject({ maxCost: 0, maxHops: 0 });
    expect(parseConstraints({ 'plexus.max_hops': 255 }, undefined, NOW).maxHops).toBe(255);
  });

  it('rejects bad values naming the parameter and what was expected', () => {
    rejects({ 'plexus.deadline_ms': '0' }, /plexus\.deadline_ms must be a positive number of milliseconds, got '0'/);
    rejects({ 'plexus.deadline_ms': -3 }, /plexus\.deadline_ms .* got -3/);
    rejects({ 'plexus.deadline_ms': 'soon' }, /plexus\.deadline_ms .* got 'soon'/);
    rejects({ 'plexus.deadline_ms': '' }, /plexus\.deadline_ms/);
    rejects({ 'plexus.deadline_ms': true }, /plexus\.deadline_ms .* got true/);
    rejects({ 'plexus.max_cost': '-1' }, /plexus\.max_cost must be a non-negative number/);
    rejects({ 'plexus.max_cost': 'Infinity' }, /plexus\.max_cost/);
    rejects({ 'plexus.max_hops': '1.5' }, /plexus\.max_hops must be an integer from 0 to 255, got '1\.5'/);
    rejects({ 'plexus.max_hops': 256 }, /plexus\.max_hops/);
    rejects({ 'plexus.prefer': 'fastest' }, /plexus\.prefer must be one of latency\|cost\|balanced, got 'fastest'/);
    rejects({ 'plexus.prefer': 1 }, /plexus\.prefer/);
    rejects({ 'plexus.provider': 'tpu' }, /plexus\.provider must be one of cuda\|webgpu\|cpu, got 'tpu'/);
    rejects({ 'plexus.peer': '' }, /plexus\.peer must be a peer id/);
    rejects({ 'plexus.peer': 'a b' }, /plexus\.peer must be a peer id/);
    rejects({ 'plexus.peer': 7 }, /plexus\.peer must be a peer id/);
    rejects({ 'plexus.peer': 'x'.repeat(300) }, /plexus\.peer .*…'$/); // long values are cut in the message
  });
});
