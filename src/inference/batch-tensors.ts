// Tensor plumbing for dynamic batching: which requests may share a batch (same non-batch dims,
// datatypes, shared values and requested outputs), stacking their inputs along each tensor's
// batch axis, and cutting the outputs back into per-request rows. The batch axis is dim 0
// unless the model's `batching.axes` says otherwise (silero-vad's state is [2, N, 128]: axis 1),
// and an input marked 'shared' is not stacked: the requests of a batch carry equal values
// (silero-vad's sample rate), one of which is fed.
import { InferenceFailedError } from '../errors.ts';
import { encodeRawTensor } from '../wire/tensor.ts';
import type { BatchAxis } from './model-spec.ts';
import type { Tensor, TensorData, TensorSpec } from './types.ts';
import { giveAway } from './model-host.ts';

type NumericData = Exclude<TensorData, Uint8Array[]>;

/** Each tensor's batch axis (dim 0 when the model's `batching.axes` does not name it). */
export type AxisOf = (name: string) => BatchAxis;

/** A shared input's bytes make part of its batch key; past this, a request runs alone. */
export const SHARED_KEY_MAX_BYTES = 256;

export function axisLookup(axes: Readonly<Record<string, BatchAxis>> = {}): AxisOf {
  const map = new Map(Object.entries(axes));
  return (name) => map.get(name) ?? 0;
}

/**
 * A model is batchable when each input and output has a dynamic dimension at its batch axis
 * (inputs may be 'shared' instead), and `axes` names only its tensors. Returns why not, or undefined.
 */
export function fixedBatchReason(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[], axes: Readonly<Record<string, BatchAxis>> = {}): string | undefined {
  const names = new Set([...inputs, ...outputs].map((s) => s.name));
  const unknown = Object.keys(axes).find((n) => !names.has(n));
  if (unknown !== undefined) return `batching.axes names '${unknown}', which is not one of its inputs or outputs (${[...names].join(', ')})`;
  const axisOf = axisLookup(axes);
  for (const [kind, specs] of [['input', inputs], ['output', outputs]] as const) {
    for (const s of specs) {
      const axis = axisOf(s.name);
      if (axis === 'shared') {
        if (kind === 'output') return `output '${s.name}' is marked 'shared' (only an input can be: every output is cut into the requests' rows)`;
        continue;
      }
      if (s.shape.length === 0) return `${kind} '${s.name}' is a scalar (no batch dimension; mark a shared input 'shared' in batching.axes)`;
      if (axis >= s.shape.length) return `${kind} '${s.name}' has ${s.shape.length} dimensions, so no batch axis ${axis}`;
      if (s.shape[axis] !== -1) return `${kind} '${s.name}' has a fixed batch dimension (dim ${axis} = ${s.shape[axis]})`;
    }
  }
  return undefined;
}

/** Rows a request contributes: the common batch-axis size of its stacked inputs, or undefined when they disagree. */
export function requestRows(inputs: readonly Tensor[], axisOf: AxisOf = () => 0): number | undefined {
  let rows: number | undefined;
  for (const t of inputs) {
    const axis = axisOf(t.name);
    if (axis === 'shared') continue;
    const d = t.shape[axis];
    if (d === undefined || d < 1) return undefined;
    if (rows !== undefined && rows !== d) return undefined;
    rows = d;
  }
  return rows;
}

/**
 * A shared input's value as part of a key (its raw bytes as the wire carries them: a view of
 * numeric data, BYTES framed by length); undefined past SHARED_KEY_MAX_BYTES.
 */
function sharedValueKey(t: Tensor): string | undefined {
  const raw = encodeRawTensor(t);
  return raw.byteLength > SHARED_KEY_MAX_BYTES ? undefined : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
}

/**
 * Requests with equal keys can be stacked: same inputs, datatypes, dims off the batch axis,
 * shared values and outputs. Undefined: a shared input too large to compare (run it alone).
 */
export function shapeKey(inputs: readonly Tensor[], outputNames: readonly string[], axisOf: AxisOf = () => 0): string | undefined {
  const parts: string[] = [];
  for (const t of inputs) {
    const axis = axisOf(t.name);
    if (axis === 'shared') {
      const value = sharedValueKey(t);
      if (value === undefined) return undefined;
      parts.push(`${t.name}:${t.datatype}:${t.shape.join('x')}=${value}`);
    } else {
      parts.push(`${t.name}:${t.datatype}:${t.shape.map((d, i) => (i === axis ? '*' : d)).join('x')}`);
    }
  }
  return `${parts.sort().join('|')}>${[...outputNames].sort().join(',')}`;
}

/** Elements before and after `axis` of `shape` (the blocks a cut along that axis repeats over). */
function around(shape: readonly number[], axis: number): { outer: number; inner: number } {
  let outer = 1;
  let inner = 1;
  shape.forEach((d, i) => {
    if (i < axis) outer *= d;
    else if (i > axis) inner *= d;
  });
  return { outer, inner };
}

/** Append `from[start..end)` to `out` (a loop: a spread of a large BYTES tensor overflows the stack). */
function copyInto(out: Uint8Array[], from: readonly Uint8Array[], start: number, end: number): void {
  for (let i = start; i < end; i++) {
    const b = from[i];
    if (b !== undefined) out.push(b);
  }
}

/**
 * Concatenate `parts` (same dims but along the axis) along it: `sizes[k]` rows of part k, each
 * row `inner` elements, `outer` blocks before the axis. A new array; BYTES elements are shared.
 * Used by the batcher (any axis) and by a pipeline step's fan-out (dim 0: outer 1).
 */
export function concatAlong(parts: readonly TensorData[], sizes: readonly number[], outer: number, inner: number): TensorData {
  const first = parts[0];
  if (first === undefined) throw new InferenceFailedError('cannot concatenate zero tensors');
  const total = sizes.reduce((a, b) => a + b, 0);
  if (Array.isArray(first)) {
    const out: Uint8Array[] = [];
    for (let o = 0; o < outer; o++) {
      parts.forEach((p, k) => { const n = (sizes[k] ?? 0) * inner; copyInto(out, p as Uint8Array[], o * n, (o + 1) * n); });
    }
    return out;
  }
  const Ctor = first.constructor as new (length: number) => NumericData;
  const out = new Ctor(outer * total * inner);
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    parts.forEach((p, k) => {
      const n = (sizes[k] ?? 0) * inner;
      // Same constructor on both sides (the key includes the datatype); the cast only quiets the union.
      (out as Float32Array).set((p as Float32Array).subarray(o * n, (o + 1) * n), offset);
      offset += n;
    });
  }
  return out;
}

/** Stack the requests' inputs along their batch axes, in request order (a shared input: the first's). All share one shapeKey. */
export function stackInputs(requests: readonly (readonly Tensor[])[], axisOf: AxisOf = () => 0): Tensor[] {
  const first = requests[0];
  if (first === undefined) return [];
  return first.map((t) => {
    const axis = axisOf(t.name);
    if (axis === 'shared') return t;
    const parts = requests.map((r) => {
      const p = r.find((x) => x.name === t.name);
      if (p === undefined) throw new InferenceFailedError(`batched request lacks input '${t.name}'`);
      return p;
    });
    const sizes = parts.map((p) => p.shape[axis] ?? 0);
    const { outer, inner } = around(t.shape, axis);
    const shape = t.shape.map((d, i) => (i === axis ? sizes.reduce((a, b) => a + b, 0) : d));
    // Built for this batch's run only: a worker host may move it instead of copying.
    return { name: t.name, datatype: t.datatype, shape, data: giveAway(concatAlong(parts.map((p) => p.data), sizes, outer, inner)) };
  });
}

/** Rows `from` to `from + count` along the axis, as a copy (no request holds another's data). */
function cutAlong(data: TensorData, total: number, from: number, count: number, outer: number, inner: number): TensorData {
  if (Array.isArray(data)) {
    const out: Uint8Array[] = [];
    for (let o = 0; o < outer; o++) copyInto(out, data, (o * total + from) * inner, (o * total + from + count) * inner);
    return out;
  }
  if (outer === 1) return data.slice(from * inner, (from + count) * inner) as NumericData;
  const out = new (data.constructor as new (length: number) => NumericData)(outer * count * inner);
  for (let o = 0; o < outer; o++) {
    (out as Float32Array).set((data as Float32Array).subarray((o * total + from) * inner, (o * total + from + count) * inner), o * count * inner);
  }
  return out;
}

/** Cut each output along its batch axis into the rows of each request. */
export function splitOutputs(model: string, outputs: readonly Tensor[], rows: readonly number[], axisOf: AxisOf = () => 0): Tensor[][] {
  const total = rows.reduce((a, b) => a + b, 0);
  const perRequest: Tensor[][] = rows.map(() => []);
  for (const o of outputs) {
    const a = axisOf(o.name);
    const axis = a === 'shared' ? 0 : a; // refused at load (fixedBatchReason); dim 0 if it ever got here
    if (o.shape[axis] !== total) {
      throw new InferenceFailedError(`model '${model}' returned output '${o.name}' with dim ${axis} = ${o.shape[axis] ?? 'none'} for a batch of ${total} rows`);
    }
    const { outer, inner } = around(o.shape, axis);
    let offset = 0;
    rows.forEach((r, k) => {
      const shape = o.shape.map((d, i) => (i === axis ? r : d));
      perRequest[k]?.push({ name: o.name, datatype: o.datatype, shape, data: cutAlong(o.data, total, offset, r, outer, inner) });
      offset += r;
    });
  }
  return perRequest;
}
