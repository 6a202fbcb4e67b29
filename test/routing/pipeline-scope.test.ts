import { describe, expect, it } from 'vitest';
import { hopConstraints, isPipeline, PIPELINE_PLATFORM } from '../../src/routing/pipeline-scope.ts';
import type { AdvertisedSignature, QueryConstraints, Selection } from '../../src/routing/types.ts';
import { model, tableWithProviders } from './fixtures.ts';

const q = (over: Partial<QueryConstraints> = {}): QueryConstraints => ({ prefer: 'latency', ...over });
const io = (platform: string): AdvertisedSignature => ({ platform, inputs: [], outputs: [] });
/** A pipeline entry (cpu, like every pipeline) and a one-node adapter, both serving ocr.read. */
const pipeline = model('ocr-read', { capabilities: ['ocr.read'], price: 2, io: io(PIPELINE_PLATFORM) });
const adapter = model('ocr-read', { capabilities: ['ocr.read'], price: 2, io: io('plexus_adapter') });
const origins = (s: Selection): string[] => (s.ok ? s.candidates.map((c) => c.origin) : [`failed: ${s.failure.message}`]);

describe('per-step constraints do not choose a pipeline\'s node', () => {
  it('drops peer, provider and max_hops for a pipeline only, keeping cost, deadline and prefer', () => {
    const c = q({ peer: 'X', provider: 'cuda', maxHops: 0, maxCost: 3, deadlineMs: 100 });
    expect(isPipeline(pipeline)).toBe(true);
    expect(isPipeline(adapter)).toBe(false);
    expect(isPipeline(model('m'))).toBe(false);
    expect(hopConstraints(pipeline, c)).toEqual({ prefer: 'latency', maxCost: 3, deadlineMs: 100 });
    expect(hopConstraints(adapter, c)).toBe(c);
    const plain = q({ maxCost: 3 });
    expect(hopConstraints(pipeline, plain)).toBe(plain);
  });

  it('plexus.provider=cuda reaches a pipeline advertised as cpu, not a cpu adapter', () => {
    const t = tableWithProviders({ p: [pipeline], a: [adapter] });
    expect(origins(t.select('ocr.read', q({ provider: 'cuda' }), 0))).toEqual(['p']);
    expect(origins(t.select('ocr.read', q(), 0)).sort()).toEqual(['a', 'p']);
  });

  it('plexus.peer pins the steps, so a pipeline on another node is still chosen', () => {
    const t = tableWithProviders({ p: [pipeline], a: [adapter] });
    expect(origins(t.select('ocr.read', q({ peer: 'x' }), 0))).toEqual(['p']);
    expect(origins(t.select('ocr.read', q({ peer: 'a' }), 0)).sort()).toEqual(['a', 'p']);
  });

  it('plexus.max_hops=0 counts the steps\' hops, not the hop to the pipeline', () => {
    const t = tableWithProviders({ p: [pipeline], a: [adapter] });
    expect(origins(t.select('ocr.read', q({ maxHops: 0 }), 0))).toEqual(['p']);
    const only = tableWithProviders({ a: [adapter] });
    expect(origins(only.select('ocr.read', q({ maxHops: 0 }), 0))[0]).toMatch(/beyond plexus\.max_hops 0/);
  });

  it('plexus.max_cost still bounds the pipeline\'s own price', () => {
    const t = tableWithProviders({ p: [pipeline] });
    const s = t.select('ocr.read', q({ provider: 'cuda', maxCost: 1 }), 0);
    expect(origins(s)[0]).toMatch(/1 over plexus\.max_cost 1/);
  });
});
