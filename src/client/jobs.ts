// PlexusJobs: the plexus.v1.Jobs API of one node (PlexusClient.jobs shares its channel).
// watchJob is an async iterator of progress events that ends when the job ends.
import * as grpc from '@grpc/grpc-js';
import type { WireItem, WireJobStatus } from '../wire/jobs-messages.ts';
import type { WireInferRequest } from '../wire/messages.ts';
import { cancelledError, fromServiceError, PlexusClientError } from './errors.ts';
import type { GetJobOptions, ItemResult, ItemState, JobDetails, JobEvent, JobSpec, JobState, JobStatus, SubmittedJob } from './jobs-types.ts';
import type { CallOptions, InferRequest } from './types.ts';
import { decodeInferResponse, encodeInferRequest } from './wire.ts';


type Callback<Res> = (error: grpc.ServiceError | null, response?: Res) => void;
type UnaryMethod = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<unknown>) => grpc.ClientUnaryCall;
type StreamMethod = (req: object, md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

/** The longest a watch stream stays open (the job's own deadline usually ends it first). */
const WATCH_TIMEOUT_MS = 7 * 24 * 3600 * 1000;

export function jobStatus(w: WireJobStatus): JobStatus {
  return {
    jobId: w.job_id, state: w.state as JobState, stopReason: w.stop_reason, label: w.label, idempotencyKey: w.idempotency_key, items: w.items,
    done: w.done, failed: w.failed, pending: w.pending, running: w.running, cancelled: w.cancelled, skipped: w.skipped, cost: w.cost,
    ...(w._max_cost === 'max_cost' && w.max_cost !== undefined ? { maxCost: w.max_cost } : {}),
    createdMs: Number(w.created_ms), updatedMs: Number(w.updated_ms), endedMs: Number(w.ended_ms), deadlineMs: Number(w.deadline_ms),
    open: w.open, concurrency: w.concurrency, failures: { ...w.failures },
  };
}

function itemResult(w: WireItem): ItemResult {
  return {
    index: w.index, state: w.state as ItemState, status: w.status, message: w.message, attempts: w.attempts, cost: w.cost, servedBy: w.served_by,
    latencyMs: w.latency_ms, ...(w.response ? { result: decodeInferResponse(w.response) } : {}),
  };
}

const isAborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;

export class PlexusJobs {
  readonly #client: grpc.Client;
  readonly #timeoutMs: number;

  constructor(client: grpc.Client, timeoutMs: number) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
  }

  /** Stores the job on the node (durably) and returns its id; the items run in the background. */
  async submitJob(spec: JobSpec, options: CallOptions = {}): Promise<SubmittedJob> {
    const settings = {
      deadline_s: spec.deadlineS ?? 0, concurrency: spec.concurrency ?? 0, idempotency_key: spec.idempotencyKey ?? '',
      item_timeout_s: spec.itemTimeoutS ?? 0, label: spec.label ?? '',
      ...(spec.maxCost === undefined ? {} : { max_cost: spec.maxCost }), ...(spec.maxRetries === undefined ? {} : { max_retries: spec.maxRetries }),
    };
    const res = await this.#unary<{ job_id: string; existing: boolean; items: number }>('SubmitJob', { settings, items: this.#items(spec.items), more_items: spec.moreItems ?? false }, options);
    return { jobId: res.job_id, existing: res.existing, items: res.items };
  }

  /** Appends items from `firstIndex` (a retried call adds nothing twice); `last` closes the job. Resolves with the job's item count. */
  async addItems(jobId: string, firstIndex: number, items: readonly InferRequest[], opts: CallOptions & { last?: boolean } = {}): Promise<number> {
    const res = await this.#unary<{ items: number }>('AddItems', { job_id: jobId, first_index: firstIndex, items: this.#items(items), last: opts.last ?? false }, opts);
    return res.items;
  }

  async getJob(jobId: string, options: CallOptions & GetJobOptions = {}): Promise<JobDetails> {
    const res = await this.#unary<{ job: WireJobStatus; items: WireItem[]; next_page_start: number }>('GetJob', {
      job_id: jobId, include_items: options.items === true || options.results === true, include_results: options.results === true,
      page_start: options.pageStart ?? 0, page_size: options.pageSize ?? 0,
    }, options);
    return { job: jobStatus(res.job), items: res.items.map(itemResult), ...(res.next_page_start > 0 ? { nextPageStart: res.next_page_start } : {}) };
  }

  async cancelJob(jobId: string, options: CallOptions = {}): Promise<JobStatus> {
    return jobStatus((await this.#unary<{ job: WireJobStatus }>('CancelJob', { job_id: jobId }, options)).job);
  }

  async listJobs(options: CallOptions & { limit?: number; state?: JobState } = {}): Promise<JobStatus[]> {
    const res = await this.#unary<{ jobs: WireJobStatus[] }>('ListJobs', { limit: options.limit ?? 0, state: options.state ?? '' }, options);
    return res.jobs.map(jobStatus);
  }

  async deleteJob(jobId: string, options: CallOptions = {}): Promise<void> {
    await this.#unary('DeleteJob', { job_id: jobId }, options);
  }

  /** The job's current state, then an event per finished item; ends when the job ends. */
  async *watchJob(jobId: string, options: Pick<CallOptions, 'signal'> = {}): AsyncIterableIterator<JobEvent> {
    const method = (this.#client as unknown as Record<string, StreamMethod | undefined>)['WatchJob'];
    if (!method) throw new PlexusClientError(grpc.status.UNIMPLEMENTED, 'no method WatchJob');
    if (options.signal?.aborted === true) throw cancelledError('watchJob');
    const call = method.call(this.#client, { job_id: jobId }, new grpc.Metadata(), { deadline: Date.now() + WATCH_TIMEOUT_MS });
    const onAbort = (): void => { call.cancel(); };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const msg of call as AsyncIterable<{ job: WireJobStatus; item?: WireItem | null }>) {
        yield { job: jobStatus(msg.job), ...(msg.item ? { item: itemResult(msg.item) } : {}) };
      }
    } catch (e) {
      throw isAborted(options.signal) ? cancelledError('watchJob') : fromServiceError(e);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  #items(items: readonly InferRequest[]): WireInferRequest[] {
    return items.map((r, i) => encodeInferRequest(r, r.id ?? String(i)));
  }

  #unary<Res>(method: string, request: object, options: CallOptions): Promise<Res> {
    const fn = (this.#client as unknown as Record<string, UnaryMethod | undefined>)[method];
    if (!fn) return Promise.reject(new PlexusClientError(grpc.status.UNIMPLEMENTED, `no method ${method}`));
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(cancelledError(method));
    return new Promise<Res>((resolve, reject) => {
      const onAbort = (): void => call.cancel();
      const call = fn.call(this.#client, request, new grpc.Metadata(), { deadline: Date.now() + (options.timeoutMs ?? this.#timeoutMs) }, (error, response) => {
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(signal?.aborted === true ? cancelledError(method) : fromServiceError(error));
        else resolve(response as Res);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
