// Local-only dispatch: every query runs on this node's models.
import { DeadlineExceededError, CancelledError } from '../errors.ts';
import type { InferRequest, InferResult, LocalInference } from '../inference/types.ts';
import type { QueryDispatcher } from './dispatch.ts';

export function createLocalDispatcher(inference: LocalInference): QueryDispatcher {
  return {
    infer(request: InferRequest): Promise<InferResult> {
      // Fail fast on work nobody is waiting for any more, before it takes a queue slot.
      if (request.signal?.aborted) return Promise.reject(new CancelledError(`query ${request.id} was cancelled by the caller`));
      if (request.deadline !== undefined && request.deadline <= Date.now()) {
        return Promise.reject(new DeadlineExceededError(`query ${request.id} arrived after its deadline`));
      }
      return inference.infer(request);
    },
  };
}
