import { describe, expect, it } from 'vitest';
import { advertChange } from '../../src/routing/advert-diff.ts';
import type { AdvertisedModel } from '../../src/routing/types.ts';

const base: AdvertisedModel = {
  name: 'm', version: '1', capabilities: ['a', 'b'], provider: 'cpu', price: 1, computeMs: 10, load: 0, capacity: 8, concurrency: 1,
};

describe('advertChange (what earns a new seq)', () => {
  it('is none for the same models, noise in compute time, and load within the same quarter of capacity', () => {
    expect(advertChange([base], [{ ...base }])).toBe('none');
    expect(advertChange([base], [{ ...base, computeMs: 11.5, capabilities: ['b', 'a'] }])).toBe('none');
    expect(advertChange([base], [{ ...base, load: 1 }])).toBe('none');
  });

  it('is models when what a node serves or its terms change, load when only compute time or load moved', () => {
    expect(advertChange([base], [])).toBe('models');
    expect(advertChange([base], [{ ...base, version: '2' }])).toBe('models');
    expect(advertChange([base], [{ ...base, capabilities: ['a'] }])).toBe('models');
    expect(advertChange([base], [{ ...base, price: 2 }])).toBe('models');
    expect(advertChange([base], [{ ...base, provider: 'cuda' }])).toBe('models');
    expect(advertChange([base], [{ ...base, concurrency: 4 }])).toBe('models');
    expect(advertChange([base], [{ ...base, computeMs: 13 }])).toBe('load');
    expect(advertChange([base], [{ ...base, load: 2 }])).toBe('load');
    expect(advertChange([base], [{ ...base, io: { platform: 'onnxruntime_onnx', inputs: [], outputs: [] } }])).toBe('models');
  });
});
