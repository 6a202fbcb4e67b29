// Fan-out of a pipeline step: cut one input along dim 0 into chunks, and join the chunks'
// outputs back along dim 0 in chunk order (so an ordered input, like boxes in reading order,
// gives outputs in the same order). Pure; views where the layout allows.
import { InferenceFailedError } from '../../errors.ts';
import { concatAlong } from '../batch-tensors.ts';
import type { Tensor, TensorData } from '../types.ts';

/** [start, end) row ranges of at most `rows` each; one empty range for 0 rows (the call still runs). */
export function chunkRanges(total: number, rows: number): [number, number][] {
  if (total === 0) return [[0, 0]];
  const out: [number, number][] = [];
  for (let s = 0; s < total; s += rows) out.push([s, Math.min(total, s + rows)]);
  return out;
}

const rowSize = (t: Tensor): number => t.shape.slice(1).reduce((a, b) => a * b, 1);

/** Rows [start, end) of a tensor along dim 0 (a view for numeric data). */
export function sliceRows(t: Tensor, start: number, end: number): Tensor {
  const per = rowSize(t);
  const data = Array.isArray(t.data) ? t.data.slice(start * per, end * per) : t.data.subarray(start * per, end * per) as TensorData;
  return { name: t.name, datatype: t.datatype, shape: [end - start, ...t.shape.slice(1)], data };
}

/** The chunks' tensors of one output joined along dim 0; they must agree on datatype and the other dims. */
export function concatRows(parts: readonly Tensor[], what: string): Tensor {
  const [first] = parts;
  if (first === undefined) throw new InferenceFailedError(`${what}: no chunk answered`);
  if (parts.length === 1) return first;
  const tail = first.shape.slice(1).join(',');
  for (const p of parts) {
    if (p.datatype !== first.datatype || p.shape.length === 0 || p.shape.slice(1).join(',') !== tail) {
      throw new InferenceFailedError(`${what}: the chunks' outputs disagree (${first.datatype} [${first.shape.join(',')}] vs ${p.datatype} [${p.shape.join(',')}])`);
    }
  }
  const sizes = parts.map((p) => p.shape[0] ?? 0);
  const shape = [sizes.reduce((a, b) => a + b, 0), ...first.shape.slice(1)];
  return { name: first.name, datatype: first.datatype, shape, data: concatAlong(parts.map((p) => p.data), sizes, 1, rowSize(first)) };
}
