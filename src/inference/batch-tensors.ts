// Tensor plumbing for dynamic batching: which requests may share a batch (same non-batch dims,
// datatypes and requested outputs), stacking their inputs along dim 0, and cutting the outputs
// back into per-request rows.
import { InferenceFailedError } from '../errors.ts';
import type { Tensor, TensorData, TensorSpec } from './types.ts';
import { giveAway } from './model-host.ts';

type NumericData = Exclude<TensorData, Uint8Array[]>;

/** A model is batchable when dim 0 of every input and output is dynamic. Returns why not, or undefined. */
export function fixedBatchReason(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): string | undefined {
  for (const [kind, specs] of [['input', inputs], ['output', outputs]] as const) {
    for (const s of specs) {
      if (s.shape.length === 0) return `${kind} '${s.name}' is a scalar (no batch dimension)`;
      if (s.shape[0] !== -1) return `${kind} '${s.name}' has a fixed batch dimension (dim 0 = ${s.shape[0]})`;
    }
  }
  return undefined;
}

/** Rows a request contributes: the common dim 0 of its inputs, or undefined when they disagree. */
export function requestRows(inputs: readonly Tensor[]): number | undefined {
  let rows: number | undefined;
  for (const t of inputs) {
    const d = t.shape[0];
    if (d === undefined || d < 1) return undefined;
    if (rows !== undefined && rows !== d) return undefined;
    rows = d;
  }
  return rows;
}

/** Requests with equal keys can be stacked: same inputs, datatypes, non-batch dims and outputs. */
export function shapeKey(inputs: readonly Tensor[], outputNames: readonly string[]): string {
  const parts = inputs.map((t) => `${t.name}:${t.datatype}:${t.shape.slice(1).join('x')}`).sort();
  return `${parts.join('|')}>${[...outputNames].sort().join(',')}`;
}

function concatData(parts: readonly TensorData[]): TensorData {
  const first = parts[0];
  if (first === undefined) throw new InferenceFailedError('cannot batch zero tensors');
  if (Array.isArray(first)) return parts.flatMap((p) => p as Uint8Array[]);
  const total = parts.reduce((n, p) => n + p.length, 0);
  const Ctor = first.constructor as new (length: number) => NumericData;
  const out = new Ctor(total);
  let offset = 0;
  for (const p of parts) {
    // Same constructor on both sides (the key includes the datatype); the cast only quiets the union.
    (out as Float32Array).set(p as Float32Array, offset);
    offset += p.length;
  }
  // Built for this batch's run only: a worker host may move it instead of copying.
  return giveAway(out);
}

/** Stack the requests' inputs along dim 0, in request order. All requests share one shapeKey. */
export function stackInputs(requests: readonly (readonly Tensor[])[]): Tensor[] {
  const first = requests[0];
  if (first === undefined) return [];
  return first.map((t) => {
    const parts = requests.map((r) => {
      const p = r.find((x) => x.name === t.name);
      if (p === undefined) throw new InferenceFailedError(`batched request lacks input '${t.name}'`);
      return p;
    });
    const rows = parts.reduce((n, p) => n + (p.shape[0] ?? 0), 0);
    return { name: t.name, datatype: t.datatype, shape: [rows, ...t.shape.slice(1)], data: concatData(parts.map((p) => p.data)) };
  });
}

/** Cut each output into the rows of each request (copies, so no request holds another's data). */
export function splitOutputs(model: string, outputs: readonly Tensor[], rows: readonly number[]): Tensor[][] {
  const total = rows.reduce((a, b) => a + b, 0);
  const perRequest: Tensor[][] = rows.map(() => []);
  for (const o of outputs) {
    if (o.shape[0] !== total) {
      throw new InferenceFailedError(`model '${model}' returned output '${o.name}' with dim 0 = ${o.shape[0] ?? 'none'} for a batch of ${total} rows`);
    }
    const rowSize = total === 0 ? 0 : o.data.length / total;
    let offset = 0;
    rows.forEach((r, k) => {
      const data = o.data.slice(offset * rowSize, (offset + r) * rowSize) as TensorData;
      perRequest[k]?.push({ name: o.name, datatype: o.datatype, shape: [r, ...o.shape.slice(1)], data });
      offset += r;
    });
  }
  return perRequest;
}
