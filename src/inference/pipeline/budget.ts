// The caller's constraints over a whole pipeline (pure): what each step call is sent (the
// caller's parameters, less what the pipeline owns: the deadline travels as the absolute
// deadline, plexus.max_cost becomes what is left of the budget), the chain of pipelines a query
// is inside (a pipeline met again on it is a loop), and the per-call records of plexus.steps.
import { NoFeasibleRouteError, PipelineLoopError } from '../../errors.ts';
import type { ParamValue, Params } from '../types.ts';
import { PARAM } from '../../wire/params.ts';
import type { StepRecord } from '../../wire/steps.ts';

/** Internal parameter: the pipelines (model names) a step query is running inside, outermost first. */
export const CHAIN_PARAM = PARAM.pipeline;
/** Pipelines nested at most this deep on one query. */
export const MAX_PIPELINE_DEPTH = 8;
/** Not passed to steps: the pipeline owns them (deadline, budget, cross-checks of the whole answer). */
const OWNED: ReadonlySet<string> = new Set([PARAM.deadlineMs, PARAM.maxCost, PARAM.verify, CHAIN_PARAM]);

export type { StepRecord } from '../../wire/steps.ts';

/** The caller's cost bound (`plexus.max_cost`), Infinity when none (the entry node has already refused a malformed one). */
export function maxCostOf(params: Params): number {
  const v = params[PARAM.maxCost];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : Infinity;
}

/** The chain this query runs inside; throws PipelineLoopError when `self` is already on it, or it is too deep. */
export function enterChain(params: Params, self: string): string[] {
  const v = params[CHAIN_PARAM];
  const chain = typeof v === 'string' && v !== '' ? v.split(',') : [];
  if (chain.includes(self)) throw new PipelineLoopError(`pipeline '${self}' was reached again from one of its own steps (chain ${[...chain, self].join(' -> ')}): a loop`);
  if (chain.length >= MAX_PIPELINE_DEPTH) throw new PipelineLoopError(`pipeline '${self}': pipelines nested more than ${MAX_PIPELINE_DEPTH} deep (chain ${chain.join(' -> ')})`);
  return [...chain, self];
}

/** Parameters of one step call: the caller's (per-step constraints such as max_hops, peer, provider) plus the chain and the budget left for this call. */
export function stepParameters(params: Params, chain: readonly string[], budget: number): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(params)) if (!OWNED.has(k)) out[k] = v;
  out[CHAIN_PARAM] = chain.join(',');
  if (Number.isFinite(budget)) out[PARAM.maxCost] = budget;
  return out;
}

/**
 * What each of `calls` parallel calls may cost when `left` is what remains of the budget: an
 * equal share, so their sum stays within it. Throws NoFeasibleRouteError when nothing is left
 * and the caller set a bound (a free provider can still be chosen at 0).
 */
export function shareOf(left: number, calls: number, what: string): number {
  if (!Number.isFinite(left)) return Infinity;
  if (left < 0) throw new NoFeasibleRouteError(`${what}: plexus.max_cost is spent (${left} left)`);
  return left / Math.max(1, calls);
}

/** A step call's record from the routed answer's parameters. */
export function recordOf(capability: string, params: Params, ms: number): StepRecord {
  const cost = Number(params[PARAM.cost] ?? 0);
  return {
    capability,
    served_by: String(params[PARAM.servedBy] ?? ''),
    route: String(params[PARAM.route] ?? ''),
    ms: Math.round(ms * 10) / 10,
    cost: Number.isFinite(cost) && cost > 0 ? cost : 0,
  };
}

/** The cost a provider reports for its own work behind a call (a pipeline's steps), clamped to a finite, non-negative number. */
export function reportedCost(params: Params): number {
  const n = Number(params[PARAM.cost] ?? 0);
  return Number.isFinite(n) && n > 0 ? n : 0;
}
