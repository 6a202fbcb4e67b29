// Scenario: what a hop's four forward-frame operations cost (the entry encodes the request, the
// provider decodes it and encodes its answer, the entry decodes that), with /plexus/forward/1.0.0's
// JSON header (src/node/p2p/forward-codec-v1.ts) and 2.0.0's binary one (forward-codec.ts), in
// this process, on the throughput scenario's query: one raw silero-vad window (input [1,576],
// state [2,1,128], sr) and its answer (output [1,1], stateN [2,1,128]). Each frame is decoded
// from where a receiver finds it, byte 18 of a Noise message. Two regimes:
//  - warm: each operation back to back, CPU time per operation, the versions in the order
//    1.0.0, 2.0.0, 2.0.0, 1.0.0;
//  - after an idle wait: each operation after a 1 ms timer, as on a node at c=1 (its caches and
//    branch predictors cold), wall time per operation, the versions taking turns.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Tensor } from '../../src/inference/types.ts';
import { codecV2, FRAME_RECEIVED_AT } from '../../src/node/p2p/forward-codec.ts';
import { codecV1 } from '../../src/node/p2p/forward-codec-v1.ts';
import type { ForwardCodec, ForwardRequest, ForwardResult } from '../../src/node/p2p/forward-frame.ts';
import { sileroInput } from '../models/silero.ts';
import { percentile, ratio, round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';

const VERSIONS = { '1.0.0': codecV1, '2.0.0': codecV2 } as const satisfies Record<string, ForwardCodec>;
type Version = keyof typeof VERSIONS;
const OPS = ['encode request', 'decode request', 'encode answer', 'decode answer'] as const;
type Op = typeof OPS[number];
/** Peer ids of the shape libp2p gives Ed25519 keys. */
const ROUTER = '12D3KooWPvKkjSjp2hDDMbahwwUPz9ZEjSJf7EX2vBi8q2mxhjoR';
const PROVIDER = '12D3KooWHk8vCQe4S3hRUVWbTBtJFXbbJxNnzEtWvQcdTSg5vGsG';

function query(): { req: ForwardRequest; res: ForwardResult } {
  const id = randomUUID();
  const input: Tensor = { name: 'input', datatype: 'FP32', shape: [1, 576], data: sileroInput() };
  const state: Tensor = { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Float32Array(256) };
  const sr: Tensor = { name: 'sr', datatype: 'INT64', shape: [], data: BigInt64Array.from([16000n]) };
  return {
    req: { queryId: id, ttl: 7, remainingMs: 29_998.731, route: [ROUTER], origin: PROVIDER, model: 'silero-vad', outputs: [], parameters: {}, inputs: [input, state, sr] },
    res: {
      model: 'silero-vad', version: '1', id, parameters: {}, hops: [{ peer: PROVIDER, ms: 0.6123 }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [1, 1], data: Float32Array.from([0.01]) }, { name: 'stateN', datatype: 'FP32', shape: [2, 1, 128], data: new Float32Array(256).fill(0.5) }],
    },
  };
}

/** A frame as its receiver holds it: at byte FRAME_RECEIVED_AT (18) of a buffer, after Noise's length, yamux's header and the frame length. */
function received(parts: readonly Uint8Array[]): Uint8Array {
  const b = new Uint8Array(FRAME_RECEIVED_AT + parts.reduce((n, p) => n + p.byteLength, 0));
  let off = FRAME_RECEIVED_AT;
  for (const p of parts) { b.set(p, off); off += p.byteLength; }
  return b.subarray(FRAME_RECEIVED_AT);
}

function operations(codec: ForwardCodec): Record<Op, () => unknown> {
  const { req, res } = query();
  const reqFrame = received(codec.encodeRequest(1, req));
  const resFrame = received(codec.encodeResult(1, res));
  return {
    'encode request': () => codec.encodeRequest(1, req),
    'decode request': () => codec.decodeFrame(reqFrame),
    'encode answer': () => codec.encodeResult(1, res),
    'decode answer': () => codec.decodeFrame(resFrame),
  };
}

/** CPU µs per operation, back to back. */
function warmUs(op: () => unknown, n: number): number {
  for (let i = 0; i < n / 4; i++) op(); // warm-up (JIT)
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) op();
  const cpu = process.cpuUsage(t0);
  return (cpu.user + cpu.system) / n;
}

/** Wall µs of each operation made after a 1 ms timer, versions and operations taking turns. */
async function idleUs(ops: Record<Version, Record<Op, () => unknown>>, n: number): Promise<Record<Version, Record<Op, number[]>>> {
  const out = { '1.0.0': {}, '2.0.0': {} } as Record<Version, Record<Op, number[]>>;
  const cells: [Version, Op][] = [];
  for (const v of Object.keys(VERSIONS) as Version[]) for (const op of OPS) { out[v][op] = []; cells.push([v, op]); }
  for (let i = 0; i < n + n / 5; i++) {
    for (let j = 0; j < cells.length; j++) {
      const [v, op] = cells[(i + j) % cells.length] ?? cells[0]!;
      await sleep(1);
      const t0 = process.hrtime.bigint();
      ops[v][op]();
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      if (i >= n / 5) out[v][op].push(us); // the first fifth warms up
    }
  }
  return out;
}

async function measure(ctx: ScenarioContext): Promise<{ rows: ResultRow[]; metrics: Record<string, number | null> }> {
  const ops = { '1.0.0': operations(codecV1), '2.0.0': operations(codecV2) };
  const n = ctx.quick ? 20_000 : 100_000;
  const warm: Record<Version, Record<Op, number>> = { '1.0.0': { 'encode request': 0, 'decode request': 0, 'encode answer': 0, 'decode answer': 0 }, '2.0.0': { 'encode request': 0, 'decode request': 0, 'encode answer': 0, 'decode answer': 0 } };
  for (const v of ['1.0.0', '2.0.0', '2.0.0', '1.0.0'] as const) for (const op of OPS) warm[v][op] += warmUs(ops[v][op], n) / 2;
  const idle = await idleUs(ops, ctx.quick ? 300 : 1500);
  const rows: ResultRow[] = [];
  const sum = { warm: { '1.0.0': 0, '2.0.0': 0 }, idle: { '1.0.0': 0, '2.0.0': 0 } };
  for (const op of OPS) {
    for (const v of Object.keys(VERSIONS) as Version[]) {
      const p50 = percentile(idle[v][op], 50);
      sum.warm[v] += warm[v][op];
      sum.idle[v] += p50;
      rows.push({ label: `${op}, ${v}`, values: { cpuUsWarm: round(warm[v][op]), p50UsAfterIdle: round(p50) } });
    }
  }
  for (const v of Object.keys(VERSIONS) as Version[]) rows.push({ label: `a hop's four operations, ${v}`, values: { cpuUsWarm: round(sum.warm[v]), p50UsAfterIdle: round(sum.idle[v]) } });
  return {
    rows,
    metrics: {
      v1HopUsWarm: round(sum.warm['1.0.0']), v2HopUsWarm: round(sum.warm['2.0.0']), warmRatio: round(ratio(sum.warm['2.0.0'], sum.warm['1.0.0'])),
      v1HopUsAfterIdle: round(sum.idle['1.0.0']), v2HopUsAfterIdle: round(sum.idle['2.0.0']), idleRatio: round(ratio(sum.idle['2.0.0'], sum.idle['1.0.0'])),
      v1RequestHeaderBytes: headerBytes(codecV1), v2RequestHeaderBytes: headerBytes(codecV2),
    },
  };
}

function headerBytes(codec: ForwardCodec): number {
  const frame = received(codec.encodeRequest(1, query().req));
  return new DataView(frame.buffer, frame.byteOffset).getUint32(5);
}

export const forwardCodecScenario: Scenario = {
  name: 'forward-codec',
  title: 'A hop\'s forward frames: 1.0.0\'s JSON header vs 2.0.0\'s binary header',
  async run(ctx): Promise<ScenarioResult> {
    const started = performance.now();
    const { rows, metrics } = await measure(ctx);
    return {
      name: 'forward-codec', title: this.title, status: 'ok', durationMs: performance.now() - started,
      columns: ['cpuUsWarm', 'p50UsAfterIdle'], rows, metrics,
      notes: [
        `2.0.0 / 1.0.0, a hop's four operations: warm ${metrics['warmRatio'] ?? '–'}× the CPU (means of two runs each, order 1.0.0, 2.0.0, 2.0.0, 1.0.0); after an idle wait ${metrics['idleRatio'] ?? '–'}× the sum of the p50 wall times. Request header: ${metrics['v1RequestHeaderBytes'] ?? '–'} bytes of JSON, ${metrics['v2RequestHeaderBytes'] ?? '–'} binary (with its padding).`,
        'cpuUsWarm: process.cpuUsage over the loop ÷ operations. p50UsAfterIdle: wall time of one operation made after a 1 ms timer (hrtime), the eight (version, operation) pairs taking turns in a rotating order. Decodes read a frame at byte 18 of its buffer, where a receiver finds one alone in a Noise message.',
      ],
    };
  },
};
