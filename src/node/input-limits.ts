// Limits on what one client request may make the node hold, and the node-wide budget for the
// inputs of requests accepted and not yet answered. The defaults live in options.ts.
import { InputBudgetError, InputLimitError, RequestInputBudgetError } from '../errors.ts';
import type { Tensor } from '../inference/types.ts';

export interface InputLimits {
  /** Elements per tensor sent as typed gRPC `contents` or REST JSON `data` (raw tensors are bounded by the message size). */
  readonly maxTypedElements: number;
  /** BYTES elements per request, typed, raw or JSON: each becomes an object of its own. */
  readonly maxBytesElements: number;
  /** Bytes of inputs of accepted requests not yet answered, node-wide (gRPC and REST). */
  readonly maxInflightInputBytes: number;
  /** Bytes of inputs one request may hold while it is answered (gRPC and REST). */
  readonly maxRequestInputBytes: number;
}

/** Counts a request's elements against the limits while its tensors are built (REST). */
export interface ElementTally {
  readonly limits: Pick<InputLimits, 'maxTypedElements' | 'maxBytesElements'>;
  bytes: number;
}

export function newTally(limits: Pick<InputLimits, 'maxTypedElements' | 'maxBytesElements'>): ElementTally {
  return { limits, bytes: 0 };
}

/** Before a tensor of `n` elements is materialised: throws InputLimitError past a limit. */
export function checkElements(tally: ElementTally, where: string, bytesType: boolean, n: number): void {
  const { maxTypedElements, maxBytesElements } = tally.limits;
  if (n > maxTypedElements) {
    throw new InputLimitError(`${where}: ${n} elements; at most ${maxTypedElements} are allowed per tensor (limits.maxTypedElements)`);
  }
  if (!bytesType) return;
  tally.bytes += n;
  if (tally.bytes > maxBytesElements) {
    throw new InputLimitError(`${where} brings the request to ${tally.bytes} BYTES elements; at most ${maxBytesElements} are allowed per request (limits.maxBytesElements)`);
  }
}

/** The memory a request's inputs hold: data bytes, and 4 bytes more per BYTES element (its length prefix). */
export function inputBytes(inputs: readonly Tensor[]): number {
  let n = 0;
  for (const t of inputs) {
    if (Array.isArray(t.data)) for (const b of t.data) n += 4 + b.byteLength;
    else n += t.data.byteLength;
  }
  return n;
}

export interface InputBudget {
  /**
   * Reserves one request's `bytes`, or throws at once: RequestInputBudgetError past the per-request
   * budget, InputBudgetError past what the node has left. Call the returned function when answered.
   */
  acquire(bytes: number): () => void;
  inUse(): number;
}

/** `maxRequestBytes`: what one request may hold (absent: only the node's budget bounds it). */
export function createInputBudget(maxBytes: number, maxRequestBytes = Number.POSITIVE_INFINITY): InputBudget {
  let used = 0;
  return {
    acquire(bytes) {
      if (bytes > maxRequestBytes) {
        throw new RequestInputBudgetError(`the request's inputs hold ${bytes} bytes; at most ${maxRequestBytes} are allowed per request (limits.maxRequestInputBytes): send less per request`);
      }
      if (used + bytes > maxBytes) {
        throw new InputBudgetError(`the node holds ${used} bytes of inputs of unanswered requests; ${bytes} more would pass its budget of ${maxBytes} (limits.maxInflightInputBytes): retry later or ask another node`);
      }
      used += bytes;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        used -= bytes;
      };
    },
    inUse: () => used,
  };
}

/** Runs `work` (the dispatch of one request) holding its inputs' bytes against the request's and the node's budgets, when there are some. */
export async function withinInputBudget<T>(budget: InputBudget | undefined, inputs: readonly Tensor[], work: () => Promise<T>): Promise<T> {
  const release = budget?.acquire(inputBytes(inputs));
  try {
    return await work();
  } finally {
    release?.();
  }
}
