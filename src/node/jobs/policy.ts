// The job runner's decisions, as pure functions: submission limits and settings checks
// (INVALID_ARGUMENT naming the field), which failures are worth another try and how long to
// wait first, and whether the budget lets one more item start.
import { InvalidInputError, type ErrorKind } from '../../errors.ts';
import type { WireJobSettings } from '../../wire/jobs-messages.ts';

export const JOB_STATES = ['RUNNING', 'COMPLETED', 'CANCELLED', 'BUDGET_EXHAUSTED', 'DEADLINE_EXCEEDED'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const ITEM_STATES = ['PENDING', 'RUNNING', 'DONE', 'FAILED', 'CANCELLED', 'SKIPPED'] as const;
export type ItemState = (typeof ITEM_STATES)[number];

export const LIMITS = {
  maxItemsPerCall: 1000,
  maxConcurrency: 256,
  defaultConcurrency: 4,
  maxRetries: 10,
  defaultRetries: 2,
  maxDeadlineS: 7 * 24 * 3600,
  defaultItemTimeoutS: 30,
  maxKeyLength: 128,
  defaultPage: 100,
  maxPage: 1000,
  backoffBaseMs: 100,
  backoffMaxMs: 5000,
} as const;

export type { WireJobSettings } from '../../wire/jobs-messages.ts';

export interface JobSettings {
  /** Absolute, epoch ms. */
  readonly deadlineMs: number;
  readonly maxCost?: number;
  readonly concurrency: number;
  readonly maxRetries: number;
  readonly idempotencyKey: string;
  readonly itemTimeoutMs: number;
  readonly label: string;
}

function bad(field: string, why: string): never {
  throw new InvalidInputError(`${field}: ${why}`);
}

function text(field: string, v: string | undefined): string {
  const s = v ?? '';
  if (s.length > LIMITS.maxKeyLength) bad(field, `is ${s.length} characters; at most ${LIMITS.maxKeyLength} are allowed`);
  return s;
}

/** Checks a submission's settings; `now` and the node's default deadline make the absolute deadline. */
export function compileSettings(w: WireJobSettings | null | undefined, now: number, defaultDeadlineMs: number): JobSettings {
  const s = w ?? {};
  const deadlineS = s.deadline_s ?? 0;
  if (!Number.isFinite(deadlineS) || deadlineS < 0 || deadlineS > LIMITS.maxDeadlineS) bad('settings.deadline_s', `expected 0..${LIMITS.maxDeadlineS} seconds, got ${deadlineS}`);
  const hasCost = s._max_cost === 'max_cost' || (s._max_cost === undefined && typeof s.max_cost === 'number');
  const maxCost = hasCost ? s.max_cost ?? 0 : undefined;
  if (maxCost !== undefined && !(Number.isFinite(maxCost) && maxCost >= 0)) bad('settings.max_cost', `expected a cost >= 0, got ${maxCost}`);
  const concurrency = s.concurrency === undefined || s.concurrency === 0 ? LIMITS.defaultConcurrency : s.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > LIMITS.maxConcurrency) bad('settings.concurrency', `expected 1..${LIMITS.maxConcurrency}, got ${concurrency}`);
  const hasRetries = s._max_retries === 'max_retries' || (s._max_retries === undefined && typeof s.max_retries === 'number');
  const maxRetries = hasRetries ? s.max_retries ?? 0 : LIMITS.defaultRetries;
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > LIMITS.maxRetries) bad('settings.max_retries', `expected 0..${LIMITS.maxRetries}, got ${maxRetries}`);
  const itemTimeoutS = s.item_timeout_s === undefined || s.item_timeout_s === 0 ? LIMITS.defaultItemTimeoutS : s.item_timeout_s;
  if (!Number.isFinite(itemTimeoutS) || itemTimeoutS <= 0 || itemTimeoutS > LIMITS.maxDeadlineS) bad('settings.item_timeout_s', `expected 0..${LIMITS.maxDeadlineS} seconds, got ${itemTimeoutS}`);
  return {
    deadlineMs: now + (deadlineS === 0 ? defaultDeadlineMs : Math.round(deadlineS * 1000)),
    ...(maxCost === undefined ? {} : { maxCost }),
    concurrency,
    maxRetries,
    idempotencyKey: text('settings.idempotency_key', s.idempotency_key),
    itemTimeoutMs: Math.round(itemTimeoutS * 1000),
    label: text('settings.label', s.label),
  };
}

/** Checks the number of items one call carries and the job's total after it. */
export function checkItemCount(field: string, inCall: number, total: number, maxPerJob: number): void {
  if (inCall > LIMITS.maxItemsPerCall) bad(field, `${inCall} items in one call; at most ${LIMITS.maxItemsPerCall} are allowed (send the rest with AddItems)`);
  if (total > maxPerJob) bad(field, `the job would hold ${total} items; at most ${maxPerJob} are allowed (node.jobs.maxItemsPerJob)`);
}

/** Failures another try (maybe on another provider) may fix. */
export function isRetryableKind(kind: ErrorKind): boolean {
  return kind === 'unavailable' || kind === 'resource_exhausted' || kind === 'deadline_exceeded';
}

/** Wait before try number `attempt` + 1 (attempt >= 1): exponential with full jitter, capped. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(LIMITS.backoffMaxMs, LIMITS.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

export interface BudgetView {
  readonly maxCost?: number;
  /** Cost of the items answered so far. */
  readonly spent: number;
  /** Items in flight now. */
  readonly inFlight: number;
  /** Highest cost one item of this job has had; undefined before the first answer. */
  readonly itemCost?: number;
}

export type BudgetDecision =
  | { readonly start: true; /** plexus.max_cost for the item: what is left for it. */ readonly cap?: number }
  | { readonly start: false; /** Stop for good (the budget is spent) or only wait for answers in flight. */ readonly stop: boolean };

/**
 * Whether one more item may start. In-flight items are counted at the highest cost seen so far;
 * before any answer only one item runs, so the first price is known before more are committed.
 */
export function budgetDecision(b: BudgetView): BudgetDecision {
  if (b.maxCost === undefined) return { start: true };
  const left = b.maxCost - b.spent;
  if (b.itemCost === undefined) return b.inFlight === 0 ? { start: true, cap: left } : { start: false, stop: false };
  const committed = b.inFlight * b.itemCost;
  if (left - committed >= b.itemCost) return { start: true, cap: left - committed };
  return b.inFlight > 0 ? { start: false, stop: false } : { start: false, stop: true };
}
