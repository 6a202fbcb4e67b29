// Fault injection (a testing feature, like Envoy's fault filter): delay every run, then fail a
// configured fraction with InjectedFaultError. The delay honours the deadline and cancellation.
// Answer faults (issue 9, to drive the trust checks on real nodes): drop a fraction of answers
// (accept, never answer) or corrupt them (outputs altered, still well-formed).
import { CancelledError, DeadlineExceededError, InjectedFaultError } from '../errors.ts';
import type { FaultSpec } from './config.ts';
import type { AcquireOptions } from './run-limiter.ts';
import type { Tensor, TensorData } from './types.ts';

export async function applyFault(model: string, fault: Pick<FaultSpec, 'delayMs' | 'errorRate'>, opts: AcquireOptions, random: () => number = Math.random): Promise<void> {
  if (fault.delayMs > 0) await abortableDelay(model, fault.delayMs, opts);
  if (fault.errorRate > 0 && random() < fault.errorRate) {
    throw new InjectedFaultError(`injected fault for model '${model}' (errorRate ${fault.errorRate})`);
  }
}

function abortableDelay(model: string, ms: number, opts: AcquireOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const untilDeadline = opts.deadline === undefined ? Infinity : opts.deadline - Date.now();
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError(`request to model '${model}' was cancelled`));
    };
    const timer = setTimeout(() => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (untilDeadline < ms) reject(new DeadlineExceededError(`deadline passed during the injected ${ms} ms delay for model '${model}'`));
      else resolve();
    }, Math.min(ms, Math.max(0, untilDeadline)));
    if (opts.signal?.aborted === true) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * After a run: with probability dropRate, hold the query until the caller cancels it (or its
 * deadline passes) and never answer; with probability corruptRate, alter every output.
 */
export async function applyAnswerFault(model: string, fault: FaultSpec, outputs: Tensor[], opts: AcquireOptions, random: () => number = Math.random): Promise<Tensor[]> {
  const dropRate = fault.dropRate ?? 0;
  const corruptRate = fault.corruptRate ?? 0;
  if (dropRate > 0 && random() < dropRate) {
    await abortableDelay(model, 600_000, opts);
    throw new DeadlineExceededError(`injected drop for model '${model}' (dropRate ${dropRate})`);
  }
  if (corruptRate > 0 && random() < corruptRate) return outputs.map(corruptTensor);
  return outputs;
}

/** The same tensor with every element changed (floats +0.25, integers +1, bytes + 'x'). */
export function corruptTensor(t: Tensor): Tensor {
  const d = t.data;
  let data: TensorData;
  if (Array.isArray(d)) data = d.map((b) => Uint8Array.from([...b, 0x78]));
  else if (d instanceof Float32Array || d instanceof Float64Array) data = d.map((x) => x + 0.25) as typeof d;
  else if (d instanceof BigInt64Array || d instanceof BigUint64Array) data = (d as BigInt64Array).map((x) => x + 1n) as typeof d;
  else data = (d as Uint8Array).map((x) => x + 1) as typeof d;
  return { ...t, data };
}
