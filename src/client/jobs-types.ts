// Public shapes of the jobs API in `plexus/client` (camelCase, numbers as numbers).
import type { InferRequest, InferResult } from './types.ts';

/** A job to submit: its items (queries) and settings. */
export interface JobSpec {
  readonly items: readonly InferRequest[];
  /** Deadline of the whole job, seconds from submission; the node's default (24 h) when absent. */
  readonly deadlineS?: number;
  /** Total cost budget over all items; the job stops taking items before passing it. */
  readonly maxCost?: number;
  /** Items in flight at once (default 4, at most 256). */
  readonly concurrency?: number;
  /** Tries after the first on UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED (default 2). */
  readonly maxRetries?: number;
  /** A resubmission with the same key returns the same job. */
  readonly idempotencyKey?: string;
  /** Deadline of one try of one item, seconds (default 30). */
  readonly itemTimeoutS?: number;
  readonly label?: string;
  /** More items follow with addItems(); the job does not end before one says last. */
  readonly moreItems?: boolean;
}

export interface SubmittedJob {
  readonly jobId: string;
  /** The idempotency key named an existing job; nothing new was stored. */
  readonly existing: boolean;
  readonly items: number;
}

export type JobState = 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'BUDGET_EXHAUSTED' | 'DEADLINE_EXCEEDED';
export type ItemState = 'PENDING' | 'RUNNING' | 'DONE' | 'FAILED' | 'CANCELLED' | 'SKIPPED';

export interface JobStatus {
  readonly jobId: string;
  readonly state: JobState;
  /** Why the job stopped early (budget, deadline, cancel); '' otherwise. */
  readonly stopReason: string;
  readonly label: string;
  readonly idempotencyKey: string;
  readonly items: number;
  readonly done: number;
  readonly failed: number;
  readonly pending: number;
  readonly running: number;
  readonly cancelled: number;
  readonly skipped: number;
  readonly cost: number;
  readonly maxCost?: number;
  readonly createdMs: number;
  readonly updatedMs: number;
  /** 0 while running. */
  readonly endedMs: number;
  readonly deadlineMs: number;
  readonly open: boolean;
  readonly concurrency: number;
  /** Failed, skipped and cancelled items by gRPC status name. */
  readonly failures: Readonly<Record<string, number>>;
}

export interface ItemResult {
  readonly index: number;
  readonly state: ItemState;
  /** gRPC status name of the outcome ('OK', 'NOT_FOUND', ...); '' while pending. */
  readonly status: string;
  readonly message: string;
  readonly attempts: number;
  readonly cost: number;
  readonly servedBy: string;
  readonly latencyMs: number;
  /** The answer, when asked for (getJob results: true) and the item is DONE. */
  readonly result?: InferResult;
}

export interface JobDetails {
  readonly job: JobStatus;
  readonly items: readonly ItemResult[];
  /** Index of the next page; undefined when this page was the last. */
  readonly nextPageStart?: number;
}

export interface GetJobOptions {
  /** Per-item outcomes, paged. */
  readonly items?: boolean;
  /** Also each DONE item's answer (implies items). */
  readonly results?: boolean;
  readonly pageStart?: number;
  /** Default 100, at most 1000. */
  readonly pageSize?: number;
}

export interface JobEvent {
  readonly job: JobStatus;
  /** The item whose end caused the event; absent in the first event. */
  readonly item?: ItemResult;
}
