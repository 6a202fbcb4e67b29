import { describe, expect, it } from 'vitest';
import { byCodeUnit } from '../../src/node/order.ts';

describe('byCodeUnit', () => {
  it('orders by UTF-16 code unit, not by locale: upper case before lower, digits first', () => {
    // localeCompare (any English locale) gives a, B, é, z; code units give 1, B, a, z, é.
    expect(['z', 'a', 'B', 'é', '1'].sort(byCodeUnit)).toEqual(['1', 'B', 'a', 'z', 'é']);
  });
  it('is a comparator: 0 for equal strings, antisymmetric, a prefix first', () => {
    expect(byCodeUnit('speech.vad', 'speech.vad')).toBe(0);
    expect(byCodeUnit('ocr', 'ocr.det')).toBe(-1);
    expect(byCodeUnit('ocr.det', 'ocr')).toBe(1);
  });
});
