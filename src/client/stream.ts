// PlexusClient.stream(): requests from an (async) iterable go out on one ModelStreamInfer
// call, answers come back through an async iterator. Backpressure is end to end: the sender
// waits while `maxInFlight` requests are sent but not yet taken by the reader (and on the
// HTTP/2 write buffer), so a slow consumer slows the producer instead of growing a queue.
import * as grpc from '@grpc/grpc-js';
import type { WireInferRequest, WireInferResponse, WireStreamInferResponse } from '../wire/messages.ts';
import { cancelledError, fromServiceError, fromStreamError, PlexusClientError } from './errors.ts';
import type { InferRequest, StreamItem, StreamOptions } from './types.ts';
import { decodeInferResponse, encodeInferRequest } from './wire.ts';

export const DEFAULT_STREAM_IN_FLIGHT = 16;

export interface StreamDeps {
  readonly client: grpc.Client;
  /** Deadline of the whole stream, ms from now. */
  readonly timeoutMs: number;
  newId(): string;
}

type DuplexMethod = (md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientDuplexStream<WireInferRequest, WireStreamInferResponse>;

export function openStream(
  deps: StreamDeps, requests: Iterable<InferRequest> | AsyncIterable<InferRequest>, options: StreamOptions,
): AsyncIterableIterator<StreamItem> {
  const maxInFlight = options.maxInFlight ?? DEFAULT_STREAM_IN_FLIGHT;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new TypeError('stream: maxInFlight must be a positive integer');
  const { signal } = options;
  const method = (deps.client as unknown as Record<string, DuplexMethod | undefined>)['ModelStreamInfer'];
  if (!method) throw new Error('client has no ModelStreamInfer');
  const call = method.call(deps.client, new grpc.Metadata(), { deadline: Date.now() + deps.timeoutMs });

  const queue: StreamItem[] = [];
  /** id -> request index, for answers not yet received. */
  const waiting = new Map<string, number>();
  let sent = 0;
  let taken = 0;
  let sendingDone = false;
  let ended = false;
  let failure: PlexusClientError | undefined;
  let closed = false;
  let wakeReader: (() => void) | undefined;
  let wakeSender: (() => void) | undefined;

  const wake = (): void => {
    wakeReader?.();
    wakeReader = undefined;
    wakeSender?.();
    wakeSender = undefined;
  };
  const fail = (e: PlexusClientError): void => {
    if (failure !== undefined || closed) return;
    failure = e;
    call.cancel();
    wake();
  };
  const onAbort = (): void => fail(cancelledError('stream'));
  if (signal?.aborted === true) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });

  call.on('data', (msg: WireStreamInferResponse) => {
    const id = msg.infer_response?.id ?? '';
    const index = waiting.get(id) ?? -1;
    waiting.delete(id);
    let item: StreamItem;
    if (msg.error_message) {
      item = { ok: false, id, index, error: fromStreamError(msg) };
    } else {
      try {
        item = { ok: true, id, index, result: decodeInferResponse(msg.infer_response as WireInferResponse) };
      } catch (e) {
        item = { ok: false, id, index, error: fromServiceError(e) };
      }
    }
    queue.push(item);
    wake();
  });
  call.on('error', (e) => fail(fromServiceError(e)));
  call.on('end', () => {
    ended = true;
    wake();
  });

  async function send(): Promise<void> {
    for await (const req of requests) {
      while (sent - taken >= maxInFlight && failure === undefined && !closed) {
        await new Promise<void>((resolve) => { wakeSender = resolve; });
      }
      if (failure !== undefined || closed) return;
      const id = req.id ?? deps.newId();
      if (waiting.has(id)) throw new PlexusClientError(grpc.status.INVALID_ARGUMENT, `stream: request id '${id}' is already waiting for its answer`);
      const wire = encodeInferRequest(req, id);
      waiting.set(id, sent);
      sent += 1;
      if (!call.write(wire)) await new Promise<void>((resolve) => call.once('drain', resolve));
    }
    sendingDone = true;
    call.end();
  }
  send().catch((e: unknown) => fail(fromServiceError(e)));

  function finish(): void {
    closed = true;
    signal?.removeEventListener('abort', onAbort);
    if (!ended) call.cancel();
    wake();
  }

  const iterator: AsyncIterableIterator<StreamItem> = {
    async next(): Promise<IteratorResult<StreamItem>> {
      for (;;) {
        const item = queue.shift();
        if (item !== undefined) {
          taken += 1;
          wake();
          return { done: false, value: item };
        }
        if (failure !== undefined && !closed) {
          const e = failure;
          finish();
          throw e;
        }
        if (closed) return { done: true, value: undefined };
        if (ended) {
          const unanswered = sent - taken;
          finish();
          if (!sendingDone || unanswered > 0) {
            throw new PlexusClientError(grpc.status.UNAVAILABLE, `stream ended by the node with ${unanswered} request(s) unanswered`);
          }
          return { done: true, value: undefined };
        }
        await new Promise<void>((resolve) => { wakeReader = resolve; });
      }
    },
    return(): Promise<IteratorResult<StreamItem>> {
      // The consumer stopped early (break, throw): stop sending and cancel the call.
      finish();
      return Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
