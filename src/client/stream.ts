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
type Requests = Iterable<InferRequest> | AsyncIterable<InferRequest>;

/** One answer of the stream as an item: its result, or its in-band error; `index` is -1 for an id nobody waits for. */
function itemOf(msg: WireStreamInferResponse, waiting: Map<string, number>): StreamItem {
  const id = msg.infer_response?.id ?? '';
  const index = waiting.get(id) ?? -1;
  waiting.delete(id);
  if (msg.error_message) return { ok: false, id, index, error: fromStreamError(msg) };
  try {
    return { ok: true, id, index, result: decodeInferResponse(msg.infer_response as WireInferResponse) };
  } catch (e) {
    return { ok: false, id, index, error: fromServiceError(e) };
  }
}

/** The state of one open stream: answers not yet read, requests not yet answered, who waits for whom. */
class StreamCall {
  readonly #call: grpc.ClientDuplexStream<WireInferRequest, WireStreamInferResponse>;
  readonly #maxInFlight: number;
  readonly #signal: AbortSignal | undefined;
  readonly #newId: () => string;
  readonly #queue: StreamItem[] = [];
  /** id -> request index, for answers not yet received. */
  readonly #waiting = new Map<string, number>();
  #sent = 0;
  #taken = 0;
  #sendingDone = false;
  #ended = false;
  #failure: PlexusClientError | undefined;
  #closed = false;
  #wakeReader: (() => void) | undefined;
  #wakeSender: (() => void) | undefined;
  readonly #onAbort = (): void => { this.#fail(cancelledError('stream')); };

  constructor(call: grpc.ClientDuplexStream<WireInferRequest, WireStreamInferResponse>, requests: Requests, newId: () => string, maxInFlight: number, signal: AbortSignal | undefined) {
    this.#call = call;
    this.#newId = newId;
    this.#maxInFlight = maxInFlight;
    this.#signal = signal;
    if (signal?.aborted === true) this.#onAbort();
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    call.on('data', (msg: WireStreamInferResponse) => {
      this.#queue.push(itemOf(msg, this.#waiting));
      this.#wake();
    });
    call.on('error', (e) => { this.#fail(fromServiceError(e)); });
    call.on('end', () => {
      this.#ended = true;
      this.#wake();
    });
    this.#send(requests).catch((e: unknown) => { this.#fail(fromServiceError(e)); });
  }

  async next(): Promise<IteratorResult<StreamItem>> {
    for (;;) {
      const item = this.#queue.shift();
      if (item !== undefined) {
        this.#taken += 1;
        this.#wake();
        return { done: false, value: item };
      }
      if (this.#failure !== undefined && !this.#closed) {
        const e = this.#failure;
        this.#finish();
        throw e;
      }
      if (this.#closed) return { done: true, value: undefined };
      if (this.#ended) return this.#endedByNode();
      await new Promise<void>((resolve) => { this.#wakeReader = resolve; });
    }
  }

  /** The consumer stopped early (break, throw): stop sending and cancel the call. */
  return(): Promise<IteratorResult<StreamItem>> {
    this.#finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** The node ended the call and every answer is read: done, unless requests are left unanswered. */
  #endedByNode(): IteratorResult<StreamItem> {
    const unanswered = this.#sent - this.#taken;
    this.#finish();
    if (!this.#sendingDone || unanswered > 0) {
      throw new PlexusClientError(grpc.status.UNAVAILABLE, `stream ended by the node with ${unanswered} request(s) unanswered`);
    }
    return { done: true, value: undefined };
  }

  async #send(requests: Requests): Promise<void> {
    for await (const req of requests) {
      while (this.#sent - this.#taken >= this.#maxInFlight && this.#failure === undefined && !this.#closed) {
        await new Promise<void>((resolve) => { this.#wakeSender = resolve; });
      }
      if (this.#failure !== undefined || this.#closed) return;
      const id = req.id ?? this.#newId();
      if (this.#waiting.has(id)) throw new PlexusClientError(grpc.status.INVALID_ARGUMENT, `stream: request id '${id}' is already waiting for its answer`);
      const wire = encodeInferRequest(req, id);
      this.#waiting.set(id, this.#sent);
      this.#sent += 1;
      if (!this.#call.write(wire)) await new Promise<void>((resolve) => this.#call.once('drain', resolve));
    }
    this.#sendingDone = true;
    this.#call.end();
  }

  #wake(): void {
    this.#wakeReader?.();
    this.#wakeReader = undefined;
    this.#wakeSender?.();
    this.#wakeSender = undefined;
  }

  #fail(e: PlexusClientError): void {
    if (this.#failure !== undefined || this.#closed) return;
    this.#failure = e;
    this.#call.cancel();
    this.#wake();
  }

  #finish(): void {
    this.#closed = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (!this.#ended) this.#call.cancel();
    this.#wake();
  }
}

export function openStream(deps: StreamDeps, requests: Requests, options: StreamOptions): AsyncIterableIterator<StreamItem> {
  const maxInFlight = options.maxInFlight ?? DEFAULT_STREAM_IN_FLIGHT;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new TypeError('stream: maxInFlight must be a positive integer');
  const method = (deps.client as unknown as Record<string, DuplexMethod | undefined>)['ModelStreamInfer'];
  if (!method) throw new Error('client has no ModelStreamInfer');
  const call = method.call(deps.client, new grpc.Metadata(), { deadline: Date.now() + deps.timeoutMs });
  const stream = new StreamCall(call, requests, () => deps.newId(), maxInFlight, options.signal);
  // A plain object, as before: its methods work unbound too.
  const iterator: AsyncIterableIterator<StreamItem> = {
    next: () => stream.next(),
    return: () => stream.return(),
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
