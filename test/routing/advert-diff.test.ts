import { describe, expect, it } from 'vitest';
import { advertChanged } from '../../src/routing/advert-diff.ts';
import type { AdvertisedModel } from '../../src/routing/types.ts';

const base: AdvertisedModel = {
  name: 'm', version: '1', capabilities: ['a', 'b'], provider: 'cpu', price: 1, computeMs: 10, load: 0, capacity: 8, concurrency: 1,
};

describe('advertChanged (what earns a new seq)', () => {
  it('is false for the same models, noise in compute time, and load within the same quarter of capacity', () => {
    expect(advertChanged([base], [{ ...base }])).toBe(false);
    expect(advertChanged([base], [{ ...base, computeMs: 11.5, capabilities: ['b', 'a'] }])).toBe(false);
    expect(advertChanged([base], [{ ...base, load: 1 }])).toBe(false);
  });

  it('is true when anything routing keys on changes', () => {
    expect(advertChanged([base], [])).toBe(true);
    expect(advertChanged([base], [{ ...base, version: '2' }])).toBe(true);
    expect(advertChanged([base], [{ ...base, capabilities: ['a'] }])).toBe(true);
    expect(advertChanged([base], [{ ...base, price: 2 }])).toBe(true);
    expect(advertChanged([base], [{ ...base, provider: 'cuda' }])).toBe(true);
    expect(advertChanged([base], [{ ...base, concurrency: 4 }])).toBe(true);
    expect(advertChanged([base], [{ ...base, computeMs: 13 }])).toBe(true);
    expect(advertChanged([base], [{ ...base, load: 2 }])).toBe(true);
    expect(advertChanged([base], [{ ...base, io: { platform: 'onnxruntime_onnx', inputs: [], outputs: [] } }])).toBe(true);
  });
});
