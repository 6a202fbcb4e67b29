// Counters for dynamic batching, shared by the request batcher and the VAD step batcher: how
// many ORT runs carried how many items, by power-of-two size bucket, so metrics can tell whether
// batching merges anything. A listener sees every batch as it is dispatched.
import type { BatchingSpec } from './model-spec.ts';

/** Called once per batched ORT run with the model's name and the batch size (rows or steppers). */
export type BatchListener = (model: string, size: number) => void;

export interface BatchStats {
  readonly maxBatchSize: number;
  /** How long a batch may wait for company, µs (the config's maxQueueDelayUs). */
  readonly maxQueueDelayUs: number;
  /** Every tensor is stacked along dim 0 (no `batching.axes` names another axis or 'shared'). */
  readonly onDim0: boolean;
  /** ORT runs made by the batcher. */
  readonly batches: number;
  /** Items carried by those runs (request rows, or VAD steppers per step). */
  readonly items: number;
  /** Largest batch seen so far; 0 before any. */
  readonly largest: number;
  /** Batch counts by size: bucket 0 is size 1, bucket i holds sizes in (2^(i-1), 2^i]. */
  readonly histogram: readonly number[];
}

export interface BatchRecorder {
  record(size: number): void;
  snapshot(): BatchStats;
}

export function batchBucket(size: number): number {
  return size <= 1 ? 0 : Math.ceil(Math.log2(size));
}

export function createBatchRecorder(
  model: string, batching: Pick<BatchingSpec, 'maxBatchSize' | 'maxQueueDelayUs' | 'axes'>, listener?: BatchListener,
): BatchRecorder {
  const { maxBatchSize, maxQueueDelayUs } = batching;
  const onDim0 = Object.values(batching.axes ?? {}).every((a) => a === 0);
  let batches = 0;
  let items = 0;
  let largest = 0;
  const histogram = new Array<number>(batchBucket(maxBatchSize) + 1).fill(0);
  return {
    record(size) {
      batches++;
      items += size;
      largest = Math.max(largest, size);
      const b = batchBucket(size);
      while (histogram.length <= b) histogram.push(0); // a lone oversized request
      histogram[b] = (histogram[b] ?? 0) + 1;
      if (listener !== undefined) {
        try {
          listener(model, size);
        } catch {
          // An observer must not fail the batch it observes.
        }
      }
    },
    snapshot: () => ({ maxBatchSize, maxQueueDelayUs, onDim0, batches, items, largest, histogram: [...histogram] }),
  };
}
