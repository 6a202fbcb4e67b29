// Property tests of `plexus.*` and other request parameters, which come from clients: the gRPC
// parameter map (src/wire/params.ts) and the routing constraints parsed from it
// (src/routing/constraints.ts) return sane values or throw an InvalidInputError naming the
// parameter, for any input.
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.ts';
import { decodeParams, MAX_PARAMETERS } from '../../src/wire/params.ts';
import { parseConstraints } from '../../src/routing/constraints.ts';

const KEYS = ['plexus.deadline_ms', 'plexus.max_cost', 'plexus.prefer', 'plexus.max_hops', 'plexus.peer', 'plexus.provider', 'plexus.hedge_ms'];
const value = fc.oneof(
  fc.double(), fc.integer(), fc.boolean(), fc.string({ maxLength: 20 }),
  fc.constantFrom('latency', ' COST ', 'balanced', 'cuda', 'cpu', 'WebGPU', '12', '-1', '1e400', 'NaN', 'Infinity', '', ' ', '0x10', '256'),
);
const params = fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 12 })), value, { maxKeys: 10 });

const wireValue = fc.oneof(
  fc.record({ bool_param: fc.boolean(), parameter_choice: fc.constant('bool_param' as const) }),
  fc.record({ int64_param: fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String), fc.string({ maxLength: 6 })), parameter_choice: fc.constant('int64_param' as const) }),
  fc.record({ uint64_param: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), parameter_choice: fc.constant('uint64_param' as const) }),
  fc.record({ string_param: fc.string({ maxLength: 5000 }), parameter_choice: fc.constant('string_param' as const) }),
  fc.record({ double_param: fc.double(), parameter_choice: fc.constant('double_param' as const) }),
  fc.constant({}),
);

function refusesWithInvalidInput(f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    return undefined;
  }
}

describe('request parameters from clients', () => {
  it('plexus.* constraints: sane values or an InvalidInputError naming the parameter', () => {
    fc.assert(fc.property(params, fc.option(fc.double()), fc.double({ min: 0, max: 2e12, noNaN: true }), (p, deadline, now) => {
      let c;
      try {
        c = parseConstraints(p, deadline ?? undefined, now);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidInputError);
        expect((e as Error).message).toMatch(/^parameter plexus\.\w+ must be/);
        return;
      }
      expect(['latency', 'cost', 'balanced']).toContain(c.prefer);
      if (c.deadlineMs !== undefined) expect(c.deadlineMs >= 0 && !Number.isNaN(c.deadlineMs)).toBe(true);
      if (c.maxCost !== undefined) expect(Number.isFinite(c.maxCost) && c.maxCost >= 0).toBe(true);
      if (c.maxHops !== undefined) expect(Number.isInteger(c.maxHops) && c.maxHops >= 0 && c.maxHops <= 255).toBe(true);
      if (c.hedgeMs !== undefined) expect(Number.isFinite(c.hedgeMs) && c.hedgeMs > 0).toBe(true);
    }), { numRuns: 3000 });
  });

  it('gRPC parameter maps: plain finite values or an InvalidInputError, never more than the limit', () => {
    const map = fc.dictionary(fc.string({ maxLength: 130 }), wireValue, { maxKeys: MAX_PARAMETERS + 2 });
    fc.assert(fc.property(map, (wire) => {
      const out = refusesWithInvalidInput(() => decodeParams('request', wire)) as Record<string, unknown> | undefined;
      if (out === undefined) return;
      expect(Object.keys(out).length).toBeLessThanOrEqual(MAX_PARAMETERS);
      for (const v of Object.values(out)) {
        expect(['string', 'number', 'boolean']).toContain(typeof v);
        // Finite: a NaN double_param went on as JSON null and the next hop struck the sender.
        if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
      }
    }), { numRuns: 1500 });
  });
});
