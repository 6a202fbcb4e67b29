import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.ts';
import type { Tensor } from '../../src/inference/types.ts';
import { validateRequest, type ModelSignature } from '../../src/inference/validate.ts';

const model: ModelSignature = {
  name: 'm',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 576] }, { name: 'sr', datatype: 'INT64', shape: [] }],
  outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 1] }],
};
const input = (shape: number[], n = shape.reduce((a, b) => a * b, 1)): Tensor => ({ name: 'input', datatype: 'FP32', shape, data: new Float32Array(n) });
const sr: Tensor = { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array([16000n]) };

function message(inputs: Tensor[], outputs: string[] = []): string {
  try {
    validateRequest(model, inputs, outputs);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    return (e as Error).message;
  }
  throw new Error('expected InvalidInputError');
}

describe('validateRequest', () => {
  it('accepts matching inputs, dynamic dims and known outputs', () => {
    expect(() => validateRequest(model, [input([3, 576]), sr], ['output'])).not.toThrow();
  });
  it('names each problem', () => {
    expect(message([input([1, 576]), sr, { name: 'extra', datatype: 'FP32', shape: [1], data: new Float32Array(1) }]))
      .toBe("input 'extra': model 'm' has no such input; expected one of 'input', 'sr'");
    expect(message([input([1, 576])])).toBe("input 'sr': missing; model 'm' expects INT64 []");
    expect(message([input([1, 576]), { ...sr, datatype: 'INT32', data: new Int32Array([1]) }])).toBe("input 'sr': expected datatype INT64, got INT32");
    expect(message([input([576]), sr])).toBe("input 'input': expected shape [-1,576] (rank 2), got [576]");
    expect(message([input([1, 512]), sr])).toBe("input 'input': expected shape [-1,576] (rank 2), got [1,512]");
    expect(message([input([1, 576], 500), sr])).toBe("input 'input': shape [1,576] needs 576 elements, got 500");
    expect(message([input([1, 576]), sr, input([1, 576])])).toBe("input 'input': given more than once");
    expect(message([{ name: 'input', datatype: 'FP32', shape: [1, 576], data: new Float64Array(576) }, sr])).toMatch(/data storage does not match datatype FP32/);
    expect(message([input([1, 576]), sr], ['probs'])).toBe("output 'probs': model 'm' has no such output; expected one of 'output'");
  });
});
