// The `pipeline:` model entry: a well-formed one compiles (each step asks only for the outputs
// used later), and each mistake is a ConfigError naming its path.
import { describe, expect, it } from 'vitest';
import { OCR_READ_PIPELINE } from '../../src/inference/adapters/ocr/ocr-config.ts';
import { compileModelSpecs } from '../../src/inference/config.ts';
import { errorOf } from './config-error.ts';


const pipe = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'twice', capabilities: ['demo.twice'],
  pipeline: {
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
    steps: [
      { name: 'a', capability: 'demo.double', inputs: { x: 'input.x' } },
      { name: 'b', capability: 'demo.double', inputs: { x: 'a.y' } },
    ],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1], from: 'b.y' }],
    ...over,
  },
});

describe('pipeline model config', () => {
  it('compiles steps, references and the outputs each step must return', () => {
    const [spec] = compileModelSpecs({ models: [pipe(), OCR_READ_PIPELINE] }, process.cwd());
    expect(spec).toMatchObject({
      kind: 'pipeline', name: 'twice', maxConcurrent: 64,
      pipeline: {
        steps: [
          { name: 'a', capability: 'demo.double', inputs: [{ name: 'x', from: { tensor: 'x' } }], outputs: ['y'] },
          { name: 'b', capability: 'demo.double', inputs: [{ name: 'x', from: { step: 'a', tensor: 'y' } }], outputs: ['y'] },
        ],
        outputs: [{ name: 'y', datatype: 'FP32', from: { step: 'b', tensor: 'y' } }],
      },
    });
    const ocr = compileModelSpecs({ models: [OCR_READ_PIPELINE] }, process.cwd())[0];
    expect(ocr?.kind === 'pipeline' && ocr.pipeline.steps.map((s) => [s.capability, [...s.outputs].sort(), s.split?.rows])).toEqual([
      ['ocr.detect', ['boxes'], undefined], ['ocr.recognize', ['scores', 'text'], 8],
    ]);
  });

  it('names unknown and forward references, duplicates and loops by their path', () => {
    const steps = (s: unknown[]): Record<string, unknown> => pipe({ steps: s });
    expect(errorOf([steps([{ name: 'a', capability: 'demo.double', inputs: { x: 'input.nope' } }])]))
      .toBe("models[0].pipeline.steps[0].inputs.x: 'input.nope' names no input of the pipeline (inputs: x)");
    expect(errorOf([steps([{ name: 'a', capability: 'demo.double', inputs: { x: 'c.y' } }])]))
      .toBe("models[0].pipeline.steps[0].inputs.x: 'c.y' names no step of the pipeline (steps: a)");
    expect(errorOf([steps([{ name: 'a', capability: 'demo.double', inputs: { x: 'b.y' } }, { name: 'b', capability: 'demo.double', inputs: { x: 'input.x' } }])]))
      .toBe("models[0].pipeline.steps[0].inputs.x: 'b.y' uses the output of step 'b', which has not run yet at this point (steps run in order)");
    expect(errorOf([steps([{ name: 'a', capability: 'demo.double', inputs: { x: 'a.y' } }])])).toMatch(/steps\[0\]\.inputs\.x: 'a\.y' uses the output of step 'a', which has not run yet/);
    expect(errorOf([steps([{ name: 'a', capability: 'demo.double', inputs: { x: 'input.x' } }, { name: 'a', capability: 'demo.double', inputs: { x: 'input.x' } }])]))
      .toBe("models[0].pipeline.steps[1].name: duplicate step 'a' (also models[0].pipeline.steps[0].name)");
    expect(errorOf([pipe({ outputs: [{ name: 'y', datatype: 'FP32', shape: [-1], from: 'b.y' }, { name: 'y', datatype: 'FP32', shape: [-1], from: 'a.y' }] })]))
      .toBe("models[0].pipeline.outputs[1].name: duplicate output 'y' (also models[0].pipeline.outputs[0].name)");
    expect(errorOf([steps([{ name: 'a', capability: 'demo.twice', inputs: { x: 'input.x' } }])]))
      .toBe("models[0].pipeline.steps[0].capability: 'demo.twice' is this pipeline itself (a step routed back into its own pipeline would loop)");
    expect(errorOf([steps([{ name: 'a', capability: 'demo.double', inputs: { x: 'input.x' }, split: { input: 'z', rows: 2 } }])]))
      .toBe("models[0].pipeline.steps[0].split.input: 'z' is not one of the step's inputs (x)");
    expect(errorOf([pipe({ outputs: [{ name: 'y', datatype: 'FP32', shape: [-1], from: 'y' }] })])).toMatch(/^models\[0\]\.pipeline\.outputs\[0\]\.from: expected "input\.NAME"/);
    expect(errorOf([steps([{ name: 'input', capability: 'demo.double', inputs: { x: 'input.x' } }, { name: 'b', capability: 'demo.double', inputs: { x: 'input.y' } }])]))
      .toBe("models[0].pipeline.steps[0].name: 'input' is reserved (references \"input.NAME\" name the request's inputs)");
    expect(errorOf([{ ...pipe(), path: 'x.onnx' }])).toMatch(/^models\[0\]\.path: expected exactly one of/);
    expect(errorOf([{ ...pipe(), batching: { maxBatchSize: 2, maxQueueDelayUs: 0 } }])).toBe('models[0].batching: not allowed on a pipeline (its steps run wherever they are routed)');
    expect(errorOf([pipe({ steps: [] })])).toBe('models[0].pipeline.steps: expected at least 1');
  });
});
