// Scenario: what encoding one ModelInfer answer costs, protobufjs's serializer (what grpc-js
// used before) beside the node's own encoder (src/node/grpc/infer-encoder.ts), side by side in
// this process: CPU time per encode (process.cpuUsage over the loop) and bytes allocated per
// encode (V8's sampling heap profiler over the loop, collected objects included, via
// node:inspector). Two answers: a silero-vad window's (raw outputs, as the throughput scenario
// gets) and the same tensors as typed contents with three parameters.
import { Session } from 'node:inspector/promises';
import { encodeModelInferResponse } from '../../src/node/grpc/infer-encoder.ts';
import type { WireInferResponse } from '../../src/wire/messages.ts';
import { loadServices } from '../../src/wire/protos.ts';
import { ratio, round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';

type Encode = (m: WireInferResponse) => Uint8Array;

const SILERO: WireInferResponse = {
  model_name: 'silero-vad', model_version: '1', id: 'q-1234', parameters: {},
  outputs: [{ name: 'output', datatype: 'FP32', shape: [1, 1] }, { name: 'stateN', datatype: 'FP32', shape: [2, 1, 128] }],
  raw_output_contents: [Buffer.from(new Float32Array([0.93]).buffer), Buffer.from(new Float32Array(256).fill(-0.25).buffer)],
};
const TYPED: WireInferResponse = {
  ...SILERO,
  raw_output_contents: [],
  parameters: { 'plexus.served_by': { string_param: '12D3KooWabcdef' }, 'plexus.hop_ms': { double_param: 0.42 }, 'plexus.cost': { int64_param: 1 } },
  outputs: [
    { name: 'output', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [0.93] } },
    { name: 'stateN', datatype: 'FP32', shape: [2, 1, 128], contents: { fp32_contents: Array.from(new Float32Array(256).fill(-0.25)) } },
  ],
};

interface Cost { readonly cpuUs: number; readonly bytes: number; readonly size: number }

/** Bytes the sampling heap profiler saw allocated while `fn` ran. */
async function sampledBytes(session: Session, fn: () => void): Promise<number> {
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  fn();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  let total = 0;
  const walk = (n: { selfSize: number; children?: readonly typeof n[] }): void => {
    total += n.selfSize;
    for (const c of n.children ?? []) walk(c);
  };
  walk(profile.head);
  return total;
}

async function cost(session: Session, encode: Encode, msg: WireInferResponse, n: number): Promise<Cost> {
  let sink = 0;
  for (let i = 0; i < n / 4; i++) sink += encode(msg).byteLength; // warm-up (JIT)
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) sink += encode(msg).byteLength;
  const cpu = process.cpuUsage(t0);
  const k = Math.min(n, 20_000);
  const bytes = await sampledBytes(session, () => { for (let i = 0; i < k; i++) sink += encode(msg).byteLength; });
  if (sink === 0) throw new Error('nothing encoded');
  return { cpuUs: (cpu.user + cpu.system) / n, bytes: bytes / k, size: encode(msg).byteLength };
}

async function measure(ctx: ScenarioContext): Promise<{ rows: ResultRow[]; metrics: Record<string, number | null> }> {
  const serialize = loadServices().inference.service['ModelInfer']?.responseSerialize;
  if (serialize === undefined) throw new Error('no ModelInfer in the KServe service');
  const variants: [string, Encode][] = [['protobufjs (before)', (m) => serialize(m)], ['own encoder', encodeModelInferResponse]];
  const n = ctx.quick ? 50_000 : 200_000;
  const rows: ResultRow[] = [];
  const metrics: Record<string, number | null> = {};
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.enable');
    for (const [shape, msg] of [['silero-vad answer, raw outputs', SILERO], ['same tensors typed, 3 parameters', TYPED]] as const) {
      const got: Cost[] = [];
      for (const [label, encode] of variants) {
        const c = await cost(session, encode, msg, n);
        got.push(c);
        rows.push({ label: `${shape}: ${label}`, values: { bytesOut: c.size, cpuUsPerEncode: round(c.cpuUs), bytesAllocatedPerEncode: Math.round(c.bytes) } });
      }
      const [before, after] = got as [Cost, Cost];
      const key = msg === SILERO ? 'raw' : 'typed';
      metrics[`${key}CpuRatio`] = round(ratio(after.cpuUs, before.cpuUs));
      metrics[`${key}AllocRatio`] = round(ratio(after.bytes, before.bytes));
    }
  } finally {
    session.disconnect();
  }
  return { rows, metrics };
}

export const encodeScenario: Scenario = {
  name: 'encode',
  title: 'Encoding one ModelInfer answer: protobufjs vs the node\'s own encoder (CPU and bytes allocated per encode)',
  async run(ctx): Promise<ScenarioResult> {
    const started = performance.now();
    const { rows, metrics } = await measure(ctx);
    return {
      name: 'encode', title: this.title, status: 'ok', durationMs: performance.now() - started,
      columns: ['bytesOut', 'cpuUsPerEncode', 'bytesAllocatedPerEncode'], rows, metrics,
      notes: [
        `own / protobufjs: raw answer CPU ${metrics['rawCpuRatio'] ?? '–'}×, allocation ${metrics['rawAllocRatio'] ?? '–'}×; typed answer CPU ${metrics['typedCpuRatio'] ?? '–'}×, allocation ${metrics['typedAllocRatio'] ?? '–'}×.`,
        'bytesAllocatedPerEncode: V8\'s sampling heap profiler (256-byte interval, collected objects included) over 20,000 encodes: an estimate, within a few % between runs.',
      ],
    };
  },
};
