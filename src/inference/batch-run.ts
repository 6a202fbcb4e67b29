// One batch's run, for the dynamic batcher (batcher.ts): a lone request as it is, several
// stacked along their batch axes and cut back into each request's rows (batch-tensors.ts); the
// stacking and cutting count in each request's input and output phases, and each traced request
// gets its queue wait, its batch and the batch's compute as spans.
import { splitOutputs, stackInputs, type AxisOf } from './batch-tensors.ts';
import type { RunPhases } from './run-phases.ts';
import type { TraceSpan } from '../trace.ts';
import type { Tensor } from './types.ts';

/** A request in the batcher: waiting in its group's queue, then in the batch that runs it. */
export interface Pending {
  readonly inputs: readonly Tensor[];
  readonly outputNames: readonly string[];
  readonly rows: number;
  readonly key: string;
  readonly enqueuedAt: number;
  readonly trace?: TraceSpan;
  /** Stacking into and splitting out of its batch count as its input and output preparation. */
  readonly phases?: RunPhases;
  resolve(outputs: Tensor[]): void;
  reject(e: unknown): void;
  /** Detach deadline timer and abort listener. */
  detach(): void;
}

export interface BatchModel {
  readonly model: string;
  /** Runs on a slot the batcher holds. */
  readonly runHeld: (inputs: readonly Tensor[], outputNames: readonly string[], faultMs?: number) => Promise<Tensor[]>;
  readonly axisOf: AxisOf;
}

/** One ORT call on the held slot for `live` (their `rows`), resolving each with its own outputs. */
export async function runBatch(m: BatchModel, live: readonly Pending[], rows: readonly number[], dispatchedAt: number, faultMs: number): Promise<void> {
  const c0 = performance.now();
  const first = live[0];
  if (first === undefined) return;
  if (live.length === 1) {
    const out = await m.runHeld(first.inputs, first.outputNames, faultMs);
    traceBatch(m.model, live, dispatchedAt, c0, rows[0] ?? 0);
    first.resolve(out);
    return;
  }
  const stacked = stackInputs(live.map((p) => p.inputs), m.axisOf);
  const s1 = performance.now();
  const outputs = await m.runHeld(stacked, first.outputNames, faultMs);
  const s2 = performance.now();
  const split = splitOutputs(m.model, outputs, rows, m.axisOf);
  const s3 = performance.now();
  for (const p of live) {
    if (p.phases === undefined) continue;
    p.phases.inputMs += s1 - c0;
    p.phases.outputMs += s3 - s2;
  }
  traceBatch(m.model, live, dispatchedAt, c0, rows.reduce((a, b) => a + b, 0));
  live.forEach((p, k) => p.resolve(split[k] ?? []));
}

/** Each traced request's queue wait, its batch (size in rows) and the batch's compute. */
function traceBatch(model: string, live: readonly Pending[], dispatchedAt: number, computeAt: number, size: number): void {
  const end = performance.now();
  for (const p of live) {
    if (p.trace === undefined) continue;
    p.trace.phase('plexus.queue_wait', p.enqueuedAt, dispatchedAt, { 'plexus.model': model });
    p.trace.phase('plexus.batch', dispatchedAt, end, { 'plexus.model': model, 'plexus.batch_size': size, 'plexus.batch_requests': live.length })
      .phase('plexus.compute', computeAt, end, { 'plexus.model': model });
  }
}
