// Handlers of plexus.v1.Jobs: wire messages in, JobService calls, wire messages out. Items are
// KServe ModelInferRequests, decoded and checked by the same codec as ModelInfer (a bad one is
// INVALID_ARGUMENT naming items[i]); answers go back as ModelInferResponses with raw outputs.
import * as grpc from '@grpc/grpc-js';
import { InvalidInputError, isPlexusError, ShuttingDownError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { decodeInferRequest, encodeInferResponse } from '../grpc/codec.ts';
import type { WireInferRequest } from '../../wire/messages.ts';
import { toServiceError } from '../../wire/status.ts';
import { decodeAnswer, type StoredQuery } from './codec.ts';
import { compileSettings, LIMITS } from './policy.ts';
import type { WireAddItemsRequest, WireGetJobRequest, WireJobIdRequest, WireListJobsRequest, WireSubmitJobRequest } from '../../wire/jobs-messages.ts';
import type { JobEvent, JobService, JobView } from './service.ts';
import type { ItemRow } from './store.ts';

type SubmitJobRequest = WireSubmitJobRequest;
type AddItemsRequest = WireAddItemsRequest;
type GetJobRequest = WireGetJobRequest;
type JobIdRequest = WireJobIdRequest;
type ListJobsRequest = WireListJobsRequest;

export function decodeItems(items: readonly WireInferRequest[], firstIndex = 0): StoredQuery[] {
  return items.map((msg, i) => {
    try {
      const { request } = decodeInferRequest(msg, { fallbackId: '' });
      return { model: request.model, ...(request.version === undefined ? {} : { version: request.version }), outputs: request.outputs, parameters: request.parameters, inputs: request.inputs };
    } catch (e) {
      if (e instanceof InvalidInputError) throw new InvalidInputError(`items[${firstIndex + i}]: ${e.message}`);
      throw e;
    }
  });
}

const jobId = (id: string): string => {
  if (id === '') throw new InvalidInputError('job_id is required');
  return id;
};

export function wireStatus(j: JobView): object {
  return {
    job_id: j.id, state: j.state, stop_reason: j.stopReason, label: j.label, idempotency_key: j.idemKey,
    items: j.items, done: j.done, failed: j.failed, pending: j.pending, running: j.running, cancelled: j.cancelled, skipped: j.skipped,
    cost: j.cost, ...(j.maxCost === undefined ? {} : { max_cost: j.maxCost }), created_ms: j.createdMs, updated_ms: j.updatedMs,
    ended_ms: j.endedMs, deadline_ms: j.deadlineMs, open: j.open, failures: j.failures, concurrency: j.concurrency,
  };
}

export function wireItem(r: ItemRow, jobIdText: string): object {
  const answer = r.result === undefined ? undefined : decodeAnswer(r.result.text, r.result.blob);
  return {
    index: r.index, state: r.state, status: r.status, message: r.message, attempts: r.attempts, cost: r.cost, served_by: r.servedBy, latency_ms: r.latencyMs,
    ...(answer === undefined ? {} : { response: encodeInferResponse({ ...answer, id: `${jobIdText}.${r.index}` }, { raw: true, id: `${jobIdText}.${r.index}` }) }),
  };
}

function unary<Req>(fn: (req: Req) => object): grpc.handleUnaryCall<Req, object> {
  return (call, cb) => {
    try {
      cb(null, fn(call.request));
    } catch (e) {
      cb(toServiceError(e));
    }
  };
}

export function createJobsHandlers(jobs: JobService, logger: Logger, defaultDeadlineMs: number): grpc.UntypedServiceImplementation {
  return {
    SubmitJob: unary<SubmitJobRequest>((req) => {
      const settings = compileSettings(req.settings, Date.now(), defaultDeadlineMs);
      const { job, existing } = jobs.submit(settings, decodeItems(req.items), req.more_items);
      return { job_id: job.id, existing, items: job.items };
    }),
    AddItems: unary<AddItemsRequest>((req) => {
      const job = jobs.addItems(jobId(req.job_id), req.first_index, decodeItems(req.items, req.first_index), req.last);
      return { items: job.items };
    }),
    GetJob: unary<GetJobRequest>((req) => {
      const job = jobs.get(jobId(req.job_id));
      if (!req.include_items) return { job: wireStatus(job), items: [], next_page_start: 0 };
      const size = req.page_size === 0 ? LIMITS.defaultPage : req.page_size;
      if (size > LIMITS.maxPage) throw new InvalidInputError(`page_size: at most ${LIMITS.maxPage}, got ${size}`);
      const items = jobs.items(job.id, req.page_start, size, req.include_results);
      const last = items.at(-1);
      const next = last !== undefined && last.index + 1 < job.items ? last.index + 1 : 0;
      return { job: wireStatus(job), items: items.map((r) => wireItem(r, job.id)), next_page_start: next };
    }),
    WatchJob(call: grpc.ServerWritableStream<JobIdRequest, object>) {
      let unsubscribe = (): void => {};
      let closed = false;
      const finish = (e?: unknown): void => {
        if (closed) return;
        closed = true;
        unsubscribe();
        if (e === undefined) call.end();
        else call.emit('error', toServiceError(e));
      };
      call.on('cancelled', () => { closed = true; unsubscribe(); });
      try {
        unsubscribe = jobs.watch(jobId(call.request.job_id), (event: JobEvent) => {
          if (closed) return;
          call.write({ job: wireStatus(event.job), ...(event.item === undefined ? {} : { item: wireItem(event.item, event.job.id) }) });
          if (event.end) finish(event.job.state === 'RUNNING' ? new ShuttingDownError('the node is shutting down; the job goes on when it is back') : undefined);
        });
        if (closed) unsubscribe();
      } catch (e) {
        if (!isPlexusError(e)) logger.error({ err: e }, 'WatchJob failed');
        finish(e);
      }
    },
    CancelJob: unary<JobIdRequest>((req) => ({ job: wireStatus(jobs.cancel(jobId(req.job_id))) })),
    ListJobs: unary<ListJobsRequest>((req) => {
      const limit = req.limit === 0 ? LIMITS.defaultPage : req.limit;
      if (limit > LIMITS.maxPage) throw new InvalidInputError(`limit: at most ${LIMITS.maxPage}, got ${limit}`);
      return { jobs: jobs.list(limit, req.state === '' ? undefined : req.state).map(wireStatus) };
    }),
    DeleteJob: unary<JobIdRequest>((req) => { jobs.delete(jobId(req.job_id)); return {}; }),
  };
}
