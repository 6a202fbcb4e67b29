// Run-time load and unload in the local inference engine, on the real Silero VAD v5 model:
// loading creates the session (and adapters on it), unloading takes the model out of lookup at
// once (new queries NOT_FOUND) while in-flight queries finish, a raw model with adapters on it
// is refused unless its dependents go too, and every change reaches onChange listeners.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelInUseError, ModelNotFoundError } from '../../src/errors.ts';
import { BUILTIN_SILERO_VAD, compileModelSpecs, createLocalInference } from '../../src/inference/index.ts';
import type { InferResult, LocalInference, ModelSpec } from '../../src/inference/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { toneWav } from '../node/grpc/helpers.ts';

const session = { intraOpThreads: 1, interOpThreads: 1 };
const WAV = new Uint8Array(toneWav(0.5));

function specs(delayMs = 0): { raw: ModelSpec; adapter: ModelSpec } {
  const [raw, adapter] = compileModelSpecs({
    models: [
      { name: 'vad', path: BUILTIN_SILERO_VAD, capabilities: ['speech.vad.raw'], session, maxConcurrent: 4 },
      { name: 'vad-segments', adapter: { type: 'silero-vad', model: 'vad' }, capabilities: ['speech.vad'], fault: { delayMs } },
    ],
  }, process.cwd());
  if (raw === undefined || adapter === undefined) throw new Error('compile gave too few specs');
  return { raw, adapter };
}

function vad(inf: LocalInference, model = 'speech.vad'): Promise<InferResult> {
  return inf.infer({ model, id: 'q', inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [WAV] }], outputs: [], parameters: {} });
}

describe('engine load/unload', () => {
  let inf: LocalInference;
  const changes: string[][] = [];
  beforeAll(async () => {
    inf = await createLocalInference({ models: [], logger: silentLogger() });
    inf.onChange(() => changes.push(inf.list().map((m) => m.name)));
  });
  afterAll(async () => { await inf.close(); });

  it('starts empty, loads a raw model and an adapter on it, and serves them', async () => {
    expect(inf.list()).toEqual([]);
    await expect(vad(inf)).rejects.toBeInstanceOf(ModelNotFoundError);
    const { raw, adapter } = specs();
    const rawInfo = await inf.load(raw);
    expect(rawInfo).toMatchObject({ name: 'vad', platform: 'onnxruntime_onnx', ready: true });
    const adapterInfo = await inf.load(adapter);
    expect(adapterInfo).toMatchObject({ name: 'vad-segments', platform: 'plexus_adapter', capabilities: ['speech.vad'] });
    expect(inf.list().map((m) => m.name)).toEqual(['vad', 'vad-segments']);
    expect(changes).toEqual([['vad'], ['vad', 'vad-segments']]);
    const r = await vad(inf);
    expect(r.model).toBe('vad-segments');
    expect(r.outputs[0]?.name).toBe('segments');
  });

  it('refuses a second load of a loaded name, and an adapter whose raw model is not loaded', async () => {
    const { raw } = specs();
    await expect(inf.load(raw)).rejects.toThrow(/'vad' is already loaded/);
    await expect(inf.load(raw)).rejects.toBeInstanceOf(ModelInUseError);
    const [orphan] = compileModelSpecs({ models: [{ name: 'other-segments', adapter: { type: 'silero-vad', model: 'nope' } }] }, process.cwd(), [raw]
      .map((s) => ({ ...s, name: 'nope' })));
    if (orphan === undefined) throw new Error('no spec');
    await expect(inf.load(orphan)).rejects.toThrow(/references model 'nope', which is not loaded/);
    expect(inf.list().map((m) => m.name)).toEqual(['vad', 'vad-segments']);
  });

  it('refuses to unload a raw model that an adapter runs on, naming the adapter', async () => {
    const e = await inf.unload('vad').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ModelInUseError);
    expect((e as Error).message).toMatch(/refused to unload model 'vad': adapter\(s\) 'vad-segments' run on it/);
    expect(inf.list().map((m) => m.name)).toEqual(['vad', 'vad-segments']);
    await expect(inf.unload('no-such-model')).rejects.toBeInstanceOf(ModelNotFoundError);
  });

  it('unloads with dependents: both gone, the session released, and the name loads again', async () => {
    changes.length = 0;
    await inf.unload('vad', { dependents: true });
    expect(inf.list()).toEqual([]);
    expect(changes).toEqual([[]]);
    await expect(vad(inf)).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(vad(inf, 'vad')).rejects.toBeInstanceOf(ModelNotFoundError);
    const { raw, adapter } = specs();
    await inf.load(raw);
    await inf.load(adapter);
    expect((await vad(inf)).model).toBe('vad-segments');
  });
});

describe('unload while a query runs', () => {
  let inf: LocalInference;
  beforeAll(async () => {
    const { raw, adapter } = specs(600);
    inf = await createLocalInference({ models: [raw, adapter], logger: silentLogger() });
  });
  afterAll(async () => { await inf.close(); });

  it('lets the in-flight query finish, refuses new ones at once, then releases', async () => {
    const events: string[] = [];
    const slow = vad(inf).then((r) => { events.push('query answered'); return r; });
    // Let the query take its slot and enter the injected delay.
    await new Promise((r) => setTimeout(r, 100));
    expect(inf.stats('vad-segments')?.inFlight).toBe(1);
    const unloaded = inf.unload('vad-segments').then(() => { events.push('unloaded'); });
    // Out of lookup at once, while the slow query still runs.
    expect(inf.list().map((m) => m.name)).toEqual(['vad']);
    expect(inf.resolve('speech.vad')).toBeUndefined();
    await expect(vad(inf)).rejects.toThrow(/'speech.vad' is not served here/);
    const second = await inf.unload('vad-segments').then(() => 'same unload');
    expect(second).toBe('same unload');
    const r = await slow;
    expect(r.model).toBe('vad-segments');
    expect(r.outputs[0]?.name).toBe('segments');
    await unloaded;
    expect(events).toEqual(['query answered', 'unloaded']);
    // The raw model it ran on is untouched; it now unloads without dependents.
    await inf.unload('vad');
    expect(inf.list()).toEqual([]);
  });
});
