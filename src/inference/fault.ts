// Fault injection (a testing feature, like Envoy's fault filter): delay every run, then fail a
// configured fraction with InjectedFaultError. The delay honours the deadline and cancellation.
import { CancelledError, DeadlineExceededError, InjectedFaultError } from '../errors.ts';
import type { FaultSpec } from './config.ts';
import type { AcquireOptions } from './run-limiter.ts';

export async function applyFault(model: string, fault: FaultSpec, opts: AcquireOptions, random: () => number = Math.random): Promise<void> {
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
