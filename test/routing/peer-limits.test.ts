import { describe, expect, it } from 'vitest';
import { advertViolation, DEFAULT_PEER_LIMITS, TokenBucket } from '../../src/routing/peer-limits.ts';
import { advert, model } from './fixtures.ts';

describe('advertViolation', () => {
  const limits = { ...DEFAULT_PEER_LIMITS, maxAdvertBytes: 1000, maxModelsPerAdvert: 3, maxCapabilitiesPerAdvert: 4 };

  it('accepts an advert within every limit', () => {
    expect(advertViolation(advert('o', 1, [model('a', { capabilities: ['x', 'y'] })]), 500, limits)).toBeUndefined();
  });

  it('refuses one over the byte, model or capability limit, saying which', () => {
    expect(advertViolation(advert('o', 1, []), 1001, limits)).toMatch(/1001 bytes exceeds the limit of 1000/);
    expect(advertViolation(advert('o', 1, [model('a'), model('b'), model('c'), model('d')]), 10, limits)).toMatch(/4 models/);
    const caps = [model('a', { capabilities: ['1', '2', '3'] }), model('b', { capabilities: ['4', '5'] })];
    expect(advertViolation(advert('o', 1, caps), 10, limits)).toMatch(/5 capabilities/);
  });

  it('the default advert limit fits a frame at least twice over', () => {
    expect(DEFAULT_PEER_LIMITS.maxAdvertBytes * 2).toBeLessThanOrEqual(DEFAULT_PEER_LIMITS.maxFrameBytes);
  });
});

describe('TokenBucket', () => {
  it('gives a burst, then the sustained rate', () => {
    const b = new TokenBucket(10, 5, 0);
    let n = 0;
    while (b.take(0)) n++;
    expect(n).toBe(5);
    expect(b.take(50)).toBe(false); // half a token
    expect(b.take(100)).toBe(true);
    expect(b.available(10_000)).toBe(5); // never more than the burst
  });

  it('a clock that goes backwards gives nothing extra', () => {
    const b = new TokenBucket(10, 1, 1000);
    expect(b.take(1000)).toBe(true);
    expect(b.take(500)).toBe(false);
    expect(b.take(1000)).toBe(false);
  });
});
