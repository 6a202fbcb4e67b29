// A tiny batchable ONNX model for the batching scenarios: x[N,IN] -> MatMul+Add -> Relu ->
// MatMul+Add -> y[N,OUT], with a dynamic batch dimension. Weights come from a seeded PRNG, so
// every run builds the same bytes; the file is written into a temp dir, nothing is downloaded.
import onnxProto from 'onnx-proto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRng } from '../../src/routing/rng.ts';

const { onnx } = onnxProto;

export interface MlpShape {
  readonly inputs: number;
  readonly hidden: number;
  readonly outputs: number;
}

export const DEFAULT_MLP: MlpShape = { inputs: 64, hidden: 256, outputs: 16 };

/** Mulberry32, the same generator routing uses: seeded weights, identical on every run. */
export const seededRandom = seededRng;

function floatTensor(name: string, dims: number[], rand: () => number, scale: number): onnxProto.onnx.ITensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (rand() * 2 - 1) * scale;
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer) };
}

function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** Serialized ONNX bytes of the MLP (opset 13, IR 7). */
export function buildMlpBytes(shape: MlpShape = DEFAULT_MLP, seed = 42): Uint8Array {
  const rand = seededRandom(seed);
  const graph: onnxProto.onnx.IGraphProto = {
    name: 'bench_mlp',
    node: [
      { opType: 'MatMul', input: ['x', 'w1'], output: ['h0'], name: 'mm1' },
      { opType: 'Add', input: ['h0', 'b1'], output: ['h1'], name: 'add1' },
      { opType: 'Relu', input: ['h1'], output: ['h2'], name: 'relu' },
      { opType: 'MatMul', input: ['h2', 'w2'], output: ['h3'], name: 'mm2' },
      { opType: 'Add', input: ['h3', 'b2'], output: ['y'], name: 'add2' },
    ],
    initializer: [
      floatTensor('w1', [shape.inputs, shape.hidden], rand, 1 / Math.sqrt(shape.inputs)),
      floatTensor('b1', [shape.hidden], rand, 0.1),
      floatTensor('w2', [shape.hidden, shape.outputs], rand, 1 / Math.sqrt(shape.hidden)),
      floatTensor('b2', [shape.outputs], rand, 0.1),
    ],
    input: [valueInfo('x', ['batch', shape.inputs])],
    output: [valueInfo('y', ['batch', shape.outputs])],
  };
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 7,
    producerName: 'plexus-bench',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Write the MLP into a fresh temp dir; returns the .onnx path. */
export function writeMlpModel(shape: MlpShape = DEFAULT_MLP, seed = 42): string {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-mlp-'));
  const path = join(dir, 'bench_mlp.onnx');
  writeFileSync(path, buildMlpBytes(shape, seed));
  return path;
}
