// What a gRPC call tells the query about its caller: the deadline and cancellation.
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { CallContext } from './codec.ts';

interface CancellableCall {
  getDeadline(): grpc.Deadline;
  on(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

export function callContext(call: Pick<CancellableCall, 'getDeadline'>, signal: AbortSignal): CallContext {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return { fallbackId: randomUUID(), signal, ...(Number.isFinite(ms) ? { deadline: ms } : {}) };
}

export interface CallCancellation {
  /** Fires when the client cancels the call or its deadline passes, while the call is open. */
  readonly signal: AbortSignal;
  /** The call was answered: a later 'cancelled' (grpc-js emits one as the stream closes) is not the caller leaving. */
  release(): void;
}

export function abortOnCancel(call: CancellableCall): CallCancellation {
  const controller = new AbortController();
  const onCancel = (): void => { controller.abort(); };
  call.on('cancelled', onCancel);
  return { signal: controller.signal, release: () => { call.removeListener('cancelled', onCancel); } };
}
