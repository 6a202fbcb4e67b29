// What a gRPC call tells the query about its caller: the deadline and cancellation.
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { CallContext } from './codec.ts';

interface CancellableCall {
  getDeadline(): grpc.Deadline;
  on(event: 'cancelled', listener: () => void): unknown;
}

export function callContext(call: CancellableCall, signal: AbortSignal): CallContext {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return { fallbackId: randomUUID(), signal, ...(Number.isFinite(ms) ? { deadline: ms } : {}) };
}

/** An AbortSignal that fires when the client cancels the call or its deadline passes. */
export function abortOnCancel(call: CancellableCall): AbortSignal {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort());
  return controller.signal;
}
