// A config-only pipeline (no code): two tensor models in a row, each a capability on another
// daemon, composed by a `pipeline:` entry. The caller's plexus.max_cost bounds the sum of the
// steps' prices; pipelines that call each other are stopped as a loop.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callError } from '../node/grpc/helpers.ts';
import { originsFor, paramNumber, paramString, removeTempDirs, startClusterNode, waitFor, type ClusterNode, type WireParams } from './helpers.ts';

const { onnx } = onnxProto;
const dir = mkdtempSync(path.join(tmpdir(), 'plexus-pipeline-'));

/** A 1-D FP32 graph x -> y of elementwise nodes (inputs 'x', the previous output, or a constant). */
function writeModel(file: string, nodes: { op: string; a: string; b: string | number }[]): string {
  const info = (name: string): onnxProto.onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'n' }] } } } });
  const consts = nodes.flatMap((n, i) => (typeof n.b === 'number' ? [{ name: `c${i}`, dims: [], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(new Float32Array([n.b]).buffer) }] : []));
  const graph = nodes.map((n, i) => ({ opType: n.op, input: [n.a, typeof n.b === 'number' ? `c${i}` : n.b], output: [i === nodes.length - 1 ? 'y' : `t${i}`] }));
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }],
    graph: { name: file, node: graph, initializer: consts, input: [info('x')], output: [info('y')] },
  };
  const p = path.join(dir, file);
  writeFileSync(p, onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish());
  return p;
}

const session = { intraOpThreads: 1, interOpThreads: 1 };
const vector = { name: 'x', datatype: 'FP32', shape: [-1] };
const pipeline = (name: string, capability: string, steps: string[]): Record<string, unknown> => ({
  name, capabilities: [capability],
  pipeline: {
    inputs: [vector],
    steps: steps.map((c, i) => ({ name: `s${i}`, capability: c, inputs: { x: i === 0 ? 'input.x' : `s${i - 1}.y` } })),
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1], from: `s${steps.length - 1}.y` }],
  },
});

interface Response { outputs: { name: string; contents: { fp32_contents?: number[] } | null }[]; parameters: WireParams }

describe('a config-only pipeline of two tensor models on two daemons', () => {
  let a: ClusterNode, b: ClusterNode;
  beforeAll(async () => {
    const affine = writeModel('affine.onnx', [{ op: 'Mul', a: 'x', b: 2 }, { op: 'Add', a: 't0', b: 1 }]);
    const square = writeModel('square.onnx', [{ op: 'Mul', a: 'x', b: 'x' }]);
    a = await startClusterNode({
      models: [
        { name: 'affine', path: affine, session, capabilities: ['demo.affine'], price: 1 },
        pipeline('loop-a', 'demo.loop-a', ['demo.loop-b']),
        pipeline('orphan', 'demo.orphan', ['demo.affine', 'demo.nowhere']),
      ],
    });
    b = await startClusterNode({
      bootstrap: a.addrs,
      models: [
        { name: 'square', path: square, session, capabilities: ['demo.square'], price: 2 },
        pipeline('affine-square', 'demo.affine-square', ['demo.affine', 'demo.square']),
        pipeline('loop-b', 'demo.loop-b', ['demo.loop-a']),
      ],
    });
    await waitFor('A knows the pipeline at B, B knows affine at A', () => originsFor(a, 'demo.affine-square').has(b.peerId) && originsFor(b, 'demo.affine').has(a.peerId), 10_000);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a, b].map(async (n) => { await n.close(); }));
    removeTempDirs();
  });

  const ask = (model: string, params: Record<string, number | string> = {}): Record<string, unknown> => ({
    model_name: model, inputs: [{ name: 'x', datatype: 'FP32', shape: [3], contents: { fp32_contents: [1, 2, 3] } }],
    parameters: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'number' ? { double_param: v } : { string_param: v }])),
  });

  it('runs affine on A then square on B, wherever the query enters, and totals the cost', async () => {
    const res = await call<Response>(a.inference, 'ModelInfer', ask('demo.affine-square', { 'plexus.max_cost': 3 }), 10_000);
    expect(res.outputs[0]?.contents?.fp32_contents).toEqual([9, 25, 49]);
    expect(paramString(res.parameters, 'plexus.served_by')).toBe(b.peerId);
    expect(paramNumber(res.parameters, 'plexus.cost')).toBe(3);
    const steps = JSON.parse(paramString(res.parameters, 'plexus.steps') ?? '[]') as { capability: string; served_by: string; route: string; cost: number }[];
    expect(steps.map((s) => [s.capability, s.served_by, s.route, s.cost])).toEqual([
      ['demo.affine', a.peerId, `${b.peerId},${a.peerId}`, 1],
      ['demo.square', b.peerId, b.peerId, 2],
    ]);
  }, 15_000);

  it('plexus.max_cost bounds the sum of the steps: 2.5 lets affine run but not square', async () => {
    const err = await callError(a.inference, 'ModelInfer', ask('demo.affine-square', { 'plexus.max_cost': 2.5 }), 10_000);
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/pipeline 'affine-square' step 's1' \(demo\.square\)/);
  }, 15_000);

  it('pipelines calling each other are stopped as a loop, and the nodes keep serving', async () => {
    const err = await callError(a.inference, 'ModelInfer', ask('demo.loop-a'), 10_000);
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/pipeline 'loop-a' was reached again from one of its own steps \(chain loop-a -> loop-b -> loop-a\)/);
    const res = await call<Response>(b.inference, 'ModelInfer', ask('demo.affine-square'), 10_000);
    expect(res.outputs[0]?.contents?.fp32_contents).toEqual([9, 25, 49]);
  }, 15_000);

  it('a step nobody serves fails the pipeline FAILED_PRECONDITION, naming the step', async () => {
    const err = await callError(b.inference, 'ModelInfer', ask('demo.orphan'), 10_000);
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/pipeline 'orphan' step 's1' \(demo\.nowhere\): .*'demo\.nowhere' is not served anywhere/);
  }, 15_000);

  it('plexus.max_hops, peer and provider pass the hop from A to the pipeline at B and bind each step', async () => {
    // Each of these excluded the pipeline itself at A before (it is 1 hop away, on B, cpu); now
    // the pipeline runs at B and the step that cannot meet the constraint is named.
    const hops = await callError(a.inference, 'ModelInfer', ask('demo.affine-square', { 'plexus.max_hops': 0 }), 10_000);
    expect(hops.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(hops.details).toMatch(/pipeline 'affine-square' step 's0' \(demo\.affine\): .*beyond plexus\.max_hops 0/);
    const peer = await callError(a.inference, 'ModelInfer', ask('demo.affine-square', { 'plexus.peer': a.peerId }), 10_000);
    expect(peer.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(peer.details).toMatch(/pipeline 'affine-square' step 's1' \(demo\.square\): .*not on the pinned plexus\.peer/);
    const cuda = await callError(a.inference, 'ModelInfer', ask('demo.affine-square', { 'plexus.provider': 'cuda' }), 10_000);
    expect(cuda.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(cuda.details).toMatch(/pipeline 'affine-square' step 's0' \(demo\.affine\): .*not on plexus\.provider cuda/);
    const res = await call<Response>(a.inference, 'ModelInfer', ask('demo.affine-square', { 'plexus.max_hops': 1, 'plexus.provider': 'cpu' }), 10_000);
    expect(res.outputs[0]?.contents?.fp32_contents).toEqual([9, 25, 49]);
  }, 15_000);
});
