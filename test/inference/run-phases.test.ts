// The engine's timing of Triton's compute_input / compute_output, on real ORT sessions of the
// bench's MLP: each answered request reports its input preparation (validation, and stacking
// into its batch when it rode one with others) and its output building (splitting its rows out
// of the batch); a failed request reports nothing; a raw model has no executeMs of its own (its
// ORT runs go to the compute hook, a batch once). An OCR adapter on the real PP-OCRv4 models adds
// its image decoding, and reports its own execution apart from its raw models' runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MLP, seededRandom, writeMlpModel } from '../../bench/models/mlp.ts';
import { compileModelSpecs, createLocalInference } from '../../src/inference/index.ts';
import type { LocalInference, Tensor } from '../../src/inference/index.ts';
import type { RunPhases } from '../../src/inference/run-phases.ts';
import { silentLogger } from '../../src/logger.ts';
import { HAS_CONVERT, OCR_MODELS, textImage } from './ocr-images.ts';

const seen: { model: string; phases: RunPhases }[] = [];
const computed: string[] = [];
let inf: LocalInference;

beforeAll(async () => {
  const session = { intraOpThreads: 1, interOpThreads: 1 };
  inf = await createLocalInference({
    logger: silentLogger(),
    onPhases: (model, phases) => seen.push({ model, phases: { ...phases } }),
    onCompute: (model) => computed.push(model),
    models: compileModelSpecs({
      models: [
        { name: 'mlp', path: writeMlpModel(), session },
        { name: 'mlp-batched', path: writeMlpModel(), session, batching: { maxBatchSize: 16, maxQueueDelayUs: 50_000 } },
      ],
    }, process.cwd()),
  });
});

afterAll(async () => {
  await inf.close();
});

function mlpInput(rows: number, seed: number): Tensor {
  const rand = seededRandom(seed);
  return { name: 'x', datatype: 'FP32', shape: [rows, DEFAULT_MLP.inputs], data: Float32Array.from({ length: rows * DEFAULT_MLP.inputs }, () => rand() * 2 - 1) };
}

describe('run phases', () => {
  it('an unbatched request: input and output phases timed, no executeMs', async () => {
    seen.length = 0;
    await inf.infer({ model: 'mlp', id: 'a', inputs: [mlpInput(2, 1)], outputs: [], parameters: {} });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.model).toBe('mlp');
    expect(seen[0]?.phases.inputMs).toBeGreaterThan(0);
    expect(seen[0]?.phases.outputMs).toBeGreaterThan(0);
    expect(seen[0]?.phases.executeMs).toBeUndefined();
  });

  it('requests sharing a batch each count the stacking and the split; the batch runs once', async () => {
    seen.length = 0;
    computed.length = 0;
    await Promise.all([1, 2, 3].map((k) => inf.infer({ model: 'mlp-batched', id: `b${k}`, inputs: [mlpInput(k, k)], outputs: [], parameters: {} })));
    expect(computed).toEqual(['mlp-batched']);
    expect(seen.map((s) => s.model)).toEqual(['mlp-batched', 'mlp-batched', 'mlp-batched']);
    for (const { phases } of seen) {
      expect(phases.inputMs).toBeGreaterThan(0);
      expect(phases.outputMs).toBeGreaterThan(0);
    }
  });

  it('a refused request reports no phases', async () => {
    seen.length = 0;
    await expect(inf.infer({ model: 'mlp', id: 'bad', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) }], outputs: [], parameters: {} }))
      .rejects.toThrow();
    expect(seen).toHaveLength(0);
  });
});

describe.skipIf(!HAS_CONVERT)('run phases of an adapter', () => {
  it('ocr.read: image decoding as input, its own execution, the answer as output; ORT runs on its raw models', async () => {
    const phases: { model: string; phases: RunPhases }[] = [];
    const runs: string[] = [];
    const ocr = await createLocalInference({
      logger: silentLogger(), models: compileModelSpecs({ models: OCR_MODELS }, process.cwd()),
      onPhases: (model, p) => phases.push({ model, phases: { ...p } }), onCompute: (model) => runs.push(model),
    });
    try {
      const image: Tensor = { name: 'image', datatype: 'BYTES', shape: [1], data: [textImage(['PHASES'])] };
      const res = await ocr.infer({ model: 'ocr.read', id: 'o', inputs: [image], outputs: [], parameters: {} });
      expect(phases.map((p) => p.model)).toEqual([res.model]);
      const p = phases[0]?.phases;
      expect(p?.inputMs).toBeGreaterThan(0);
      expect(p?.executeMs).toBeGreaterThan(0);
      expect(p?.outputMs).toBeGreaterThan(0);
      expect(runs.length).toBeGreaterThanOrEqual(2);
      expect(runs).not.toContain(res.model);
    } finally {
      await ocr.close();
    }
  }, 20_000);
});
