// Property tests of REST JSON inference bodies (rest-codec.ts, json-tensors.ts), which come from
// clients: any JSON gives a request or a PlexusError, never another throw; a request never
// holds more elements than the limits; a float the client wrote as a number is finite.
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPlexusError } from '../../../src/errors.ts';
import type { InferRequest } from '../../../src/inference/types.ts';
import { countJsonValues } from '../../../src/node/http/json-prescan.ts';
import { decodeRestInferRequest } from '../../../src/node/http/rest-codec.ts';

const LIMITS = { maxTypedElements: 100, maxBytesElements: 20 };
const ctx = { model: 'm', fallbackId: 'f', limits: LIMITS };

function decode(body: unknown): InferRequest | undefined {
  try {
    return decodeRestInferRequest(body, ctx);
  } catch (e) {
    if (!isPlexusError(e)) throw e;
    return undefined;
  }
}

function withinLimits(r: InferRequest): void {
  let bytes = 0;
  for (const t of r.inputs) {
    const n = Array.isArray(t.data) ? t.data.length : (t.data as ArrayLike<unknown>).length;
    expect(n).toBeLessThanOrEqual(LIMITS.maxTypedElements);
    if (t.datatype === 'BYTES') bytes += n;
  }
  expect(bytes).toBeLessThanOrEqual(LIMITS.maxBytesElements);
}

const DATATYPES = ['BOOL', 'INT8', 'UINT8', 'INT32', 'UINT32', 'INT64', 'UINT64', 'FP16', 'BF16', 'FP32', 'FP64', 'BYTES'];
const element = fc.oneof(
  fc.double(), fc.integer(), fc.boolean(), fc.string({ maxLength: 6 }), fc.constantFrom('NaN', 'Infinity', '-Infinity', '18446744073709551615', '-9223372036854775809'),
  fc.constantFrom(1e400, -1e400, 1e39, 65520, 3.5e38), fc.record({ b64: fc.constantFrom('', 'AA==', '/wA=', 'not base64', 'QQ') }), fc.constant(null),
);
const GOOD: Record<string, fc.Arbitrary<unknown>> = {
  BOOL: fc.boolean(), BYTES: fc.oneof(fc.string({ maxLength: 6 }), fc.record({ b64: fc.constantFrom('', 'AA==', '/wA=') })),
  INT64: fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)),
  UINT64: fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String)),
};
const goodFor = (dt: string): fc.Arbitrary<unknown> => GOOD[dt] ?? (dt.startsWith('FP') || dt === 'BF16' ? fc.double({ noNaN: true }) : fc.integer({ min: -130, max: 260 }));
const input = fc.record({
  name: fc.string({ maxLength: 8 }), datatype: fc.constantFrom(...DATATYPES),
  shape: fc.oneof(fc.array(fc.integer({ min: -1, max: 8 }), { maxLength: 3 }), fc.constant([1e9]), fc.constant([2 ** 53])),
  fit: fc.boolean(), nested: fc.boolean(),
}).chain((t) => {
  const el = fc.oneof({ weight: 99, arbitrary: goodFor(t.datatype) }, { weight: 1, arbitrary: element });
  return fc.array(el, { maxLength: 30 }).map((values) => ({
    name: t.name, datatype: t.datatype,
    shape: t.fit ? (t.nested ? [Math.floor(values.length / 2), 2] : [values.length]) : t.shape,
    data: t.nested ? Array.from({ length: Math.floor(values.length / 2) }, (_, i) => values.slice(2 * i, 2 * i + 2)) : values,
  }));
});
const body = fc.record({
  id: fc.string({ maxLength: 8 }), inputs: fc.array(input, { maxLength: 3 }).map((ins) => ins.map((t, i) => ({ ...t, name: `${t.name}${i}` }))),
  outputs: fc.array(fc.record({ name: fc.string({ minLength: 1, maxLength: 6 }) }), { maxLength: 1 }),
  parameters: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.double(), fc.boolean())),
}, { requiredKeys: ['inputs'] });

const floatsFinite = (r: InferRequest, sent: unknown): void => {
  // Non-finite floats only from the strings "NaN", "Infinity", "-Infinity".
  if (JSON.stringify(sent).includes('"NaN"') || JSON.stringify(sent).includes('Infinity"')) return;
  for (const t of r.inputs) {
    if (t.datatype === 'FP32' || t.datatype === 'FP64') for (const v of Array.from(t.data as ArrayLike<number>)) expect(Number.isFinite(v)).toBe(true);
  }
};

describe('REST JSON inference bodies', () => {
  it('any JSON value: a request or a PlexusError', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
      const r = decode(v);
      if (r !== undefined) withinLimits(r);
    }), { numRuns: 1500 });
  });

  it('inference-shaped bodies: within the limits, floats finite unless sent as strings', () => {
    let decoded = 0;
    fc.assert(fc.property(body, (b) => {
      const r = decode(b);
      if (r === undefined) return;
      decoded++;
      withinLimits(r);
      floatsFinite(r, b);
    }), { numRuns: 3000 });
    expect(decoded).toBeGreaterThan(100); // the property saw real requests, not only refusals
  });

  it('a BYTES shape past the limit is refused before its data is looked at', () => {
    const started = performance.now();
    expect(() => decodeRestInferRequest({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [4_194_304], data: [] }] }, ctx))
      .toThrow(/4194304 elements; at most 100 are allowed per tensor \(limits\.maxTypedElements\)/);
    expect(() => decodeRestInferRequest({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [50], data: [] }] }, ctx))
      .toThrow(/brings the request to 50 BYTES elements; at most 20 are allowed per request \(limits\.maxBytesElements\)/);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('the pre-parse count is exactly the elements and members of the JSON (one per empty container), strings skipped', () => {
    const expected = (v: unknown): number => {
      if (Array.isArray(v)) return Math.max(1, v.length) + v.reduce<number>((n, x) => n + expected(x), 0);
      if (typeof v === 'object' && v !== null) {
        const values = Object.values(v);
        return Math.max(1, values.length) + values.reduce<number>((n, x) => n + expected(x), 0);
      }
      return 0;
    };
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), (v, pretty) => {
      const text = Buffer.from(JSON.stringify(v, null, pretty ? 1 : undefined) ?? 'null');
      expect(countJsonValues(text, 1e9)).toBe(expected(v));
      const n = expected(v);
      if (n > 2) expect(countJsonValues(text, n - 2)).toBe(n - 1); // stops once past the cap
    }), { numRuns: 2000 });
  });
});
