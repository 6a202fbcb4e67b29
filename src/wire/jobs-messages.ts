// TypeScript shapes of plexus.v1.Jobs messages (proto/plexus/v1/jobs.proto) as the loader
// decodes them (protos.ts), shared by the node's Jobs service and plexus/client.
import type { WireInferRequest, WireInferResponse } from './messages.ts';

export interface WireJobSettings {
  deadline_s?: number;
  max_cost?: number | null;
  concurrency?: number;
  max_retries?: number | null;
  idempotency_key?: string;
  item_timeout_s?: number;
  label?: string;
  /** proto-loader's name of the set field of each proto3 `optional` (synthetic oneof). */
  _max_cost?: string;
  _max_retries?: string;
}

export interface WireSubmitJobRequest { settings: WireJobSettings | null; items: WireInferRequest[]; more_items: boolean }
export interface WireAddItemsRequest { job_id: string; first_index: number; items: WireInferRequest[]; last: boolean }
export interface WireGetJobRequest { job_id: string; include_items: boolean; page_start: number; page_size: number; include_results: boolean }
export interface WireJobIdRequest { job_id: string }
export interface WireListJobsRequest { limit: number; state: string }

export interface WireJobStatus {
  job_id: string; state: string; stop_reason: string; label: string; idempotency_key: string; items: number; done: number; failed: number;
  pending: number; running: number; cancelled: number; skipped: number; cost: number; max_cost?: number; _max_cost?: string;
  created_ms: string; updated_ms: string; ended_ms: string; deadline_ms: string; open: boolean; failures: Record<string, number>; concurrency: number;
}

export interface WireItem {
  index: number; state: string; status: string; message: string; attempts: number; cost: number; served_by: string; latency_ms: number;
  response?: WireInferResponse | null;
}
