// Calls of capabilities through the node's step dispatcher on behalf of one query: what a
// pipeline's runner makes for each step, and what a code adapter uses to reach a capability
// through the router instead of a local session (`stepsFor`). Every call carries the query's
// absolute deadline (so it gets what is left) and what is left of plexus.max_cost (a fan-out's
// chunks an equal share each), is recorded for plexus.steps, and counts against the budget.
import { DeadlineExceededError, isPlexusError, NoFeasibleRouteError } from '../../errors.ts';
import type { TraceSpan } from '../../trace.ts';
import type { RunOptions } from '../run-phases.ts';
import type { InferRequest, InferResult, Params, Tensor } from '../types.ts';
import { enterChain, maxCostOf, recordOf, shareOf, stepParameters, type StepRecord } from './budget.ts';
import { chunkRanges, concatRows, sliceRows } from './split.ts';
import { PARAM } from '../../wire/params.ts';

/** Where step calls go: structurally the node's QueryDispatcher (the routed one on a node). */
export interface StepDispatcher {
  infer(request: InferRequest): Promise<InferResult>;
}

/** The query the calls are made for. */
export interface PipelineQuery {
  readonly id: string;
  readonly parameters: Params;
  readonly deadline?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly trace?: TraceSpan | undefined;
  readonly tenant?: string | undefined;
}

export interface StepCallOptions {
  /** Names the call in query ids and errors; the capability when absent. */
  readonly name?: string;
  /** Outputs to ask for; all when absent. */
  readonly outputs?: readonly string[];
  /** Fan-out: cut input `input` along dim 0 into chunks of `rows`, one call each, all at once; outputs joined in order. */
  readonly split?: { readonly input: string; readonly rows: number };
}

/** Capability calls for one query, sharing its deadline and budget. */
export interface StepCaller {
  /** Call `capability` (routed like any query); its outputs by name. Errors name the caller and the step. */
  call(capability: string, inputs: readonly Tensor[], opts?: StepCallOptions): Promise<Map<string, Tensor>>;
  /** One record per call made so far (plexus.steps). */
  readonly steps: readonly StepRecord[];
  /** Sum of the calls' costs so far. */
  readonly cost: number;
}

/**
 * Prefix a step's error with where it happened, keeping its class (and so its status), except
 * NOT_FOUND: a step nobody serves leaves the caller unable to run (FAILED_PRECONDITION); a
 * NOT_FOUND would read as "the pipeline is unknown" and make the entry node fail over.
 */
function inStep(e: unknown, label: string, name: string, capability: string): unknown {
  if (!(e instanceof Error) || e.message.startsWith('pipeline ') || e.message.startsWith(`${label} `)) return e;
  const message = `${label} step '${name}' (${capability}): ${e.message}`;
  if (isPlexusError(e) && e.kind === 'not_found') return new NoFeasibleRouteError(message, { cause: e });
  e.message = message;
  return e;
}

/**
 * `label` names the caller in errors (`pipeline 'ocr-read'`), `price` is its own price (counted
 * against plexus.max_cost before any call), `chain` the pipelines the query is inside (the caller last).
 */
export function createStepCaller(label: string, price: number, chain: readonly string[], dispatch: StepDispatcher, query: PipelineQuery): StepCaller {
  const maxCost = maxCostOf(query.parameters);
  const steps: StepRecord[] = [];
  let spent = 0;

  async function once(capability: string, name: string, inputs: Tensor[], outputs: readonly string[], budget: number, k: number | undefined, signal: AbortSignal | undefined): Promise<{ res: InferResult; rec: StepRecord }> {
    const t0 = performance.now();
    const res = await dispatch.infer({
      model: capability, id: `${query.id}/${name}${k === undefined ? '' : `#${k}`}`, inputs, outputs: [...outputs],
      parameters: stepParameters(query.parameters, chain, budget),
      ...(query.deadline === undefined ? {} : { deadline: query.deadline }), ...(signal === undefined ? {} : { signal }),
      ...(query.trace === undefined ? {} : { trace: query.trace }), ...(query.tenant === undefined ? {} : { tenant: query.tenant }),
    });
    return { res, rec: recordOf(capability, res.parameters, performance.now() - t0) };
  }

  /** One call, or one per chunk all at once (the first failure cancels the others). */
  async function fanOut(capability: string, name: string, inputs: readonly Tensor[], opts: StepCallOptions, left: number): Promise<{ outputs: Map<string, Tensor>; recs: StepRecord[] }> {
    const what = `${label} step '${name}'`;
    const outs = opts.outputs ?? [];
    const split = opts.split;
    const cut = split === undefined ? undefined : inputs.find((t) => t.name === split.input);
    if (split === undefined || cut === undefined || cut.shape.length === 0) {
      const { res, rec } = await once(capability, name, [...inputs], outs, shareOf(left, 1, what), undefined, query.signal);
      return { outputs: new Map(res.outputs.map((t) => [t.name, t])), recs: [rec] };
    }
    const ranges = chunkRanges(cut.shape[0] ?? 0, split.rows);
    const share = shareOf(left, ranges.length, what);
    const ctl = new AbortController();
    const onAbort = (): void => { ctl.abort(query.signal?.reason); };
    query.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const calls: Promise<{ res: InferResult; rec: StepRecord }>[] = [];
      for (const [k, [s, e]] of ranges.entries()) {
        // One turn of the event loop between launches: the previous call has taken its route (and
        // counts as outstanding there), so the router's load balancing spreads the chunks.
        if (k > 0) await new Promise<void>((resolve) => { setImmediate(resolve); });
        if (ctl.signal.aborted) break;
        const part = inputs.map((t) => (t === cut ? sliceRows(t, s, e) : t));
        const c = once(capability, name, part, outs, share, k, ctl.signal).catch((err: unknown) => { ctl.abort(err); throw err; });
        // Handled by Promise.all below; until the loop gets there, a chunk that fails early must not count as unhandled.
        c.catch(() => undefined);
        calls.push(c);
      }
      const answers = await Promise.all(calls);
      const names = [...new Set(answers.flatMap((a) => a.res.outputs.map((t) => t.name)))];
      const outputs = new Map(names.map((n) => [n, concatRows(answers.map((a) => a.res.outputs.find((t) => t.name === n)).filter((t) => t !== undefined), `output '${n}'`)]));
      return { outputs, recs: answers.map((a) => a.rec) };
    } finally {
      query.signal?.removeEventListener('abort', onAbort);
    }
  }

  async function call(capability: string, inputs: readonly Tensor[], opts: StepCallOptions = {}): Promise<Map<string, Tensor>> {
    const name = opts.name ?? capability;
    if (query.deadline !== undefined && Date.now() >= query.deadline) {
      throw new DeadlineExceededError(`${label}: deadline passed before step '${name}' (${capability}) after ${steps.length} call(s)`);
    }
    let got: { outputs: Map<string, Tensor>; recs: StepRecord[] };
    try {
      got = await fanOut(capability, name, inputs, opts, maxCost - price - spent);
    } catch (e) {
      throw inStep(e, label, name, capability);
    }
    steps.push(...got.recs);
    spent += got.recs.reduce((s, r) => s + r.cost, 0);
    if (price + spent > maxCost) throw new NoFeasibleRouteError(`${label}: its steps cost ${spent} (+${price}), over plexus.max_cost ${maxCost}`);
    return got.outputs;
  }

  return { call, get steps() { return steps; }, get cost() { return spent; } };
}

/**
 * The step caller of a hosted model's run (a pipeline, or a code adapter that routes some of its
 * work): the query from the run's options, the model entered on the query's pipeline chain (a
 * loop fails PipelineLoopError). `report` puts plexus.steps and plexus.cost on the answer.
 */
export function stepsFor(label: string, model: { readonly name: string; readonly price: number }, dispatch: StepDispatcher, opts: RunOptions): { readonly caller: StepCaller; readonly report: () => void } {
  const request = opts.request ?? { id: '', parameters: {} };
  const chain = enterChain(request.parameters, model.name);
  const caller = createStepCaller(label, model.price, chain, dispatch, {
    id: request.id, parameters: request.parameters, deadline: opts.deadline, signal: opts.signal, trace: opts.trace, tenant: request.tenant,
  });
  const report = (): void => {
    if (opts.answer === undefined) return;
    opts.answer[PARAM.steps] = JSON.stringify(caller.steps);
    opts.answer[PARAM.cost] = caller.cost;
  };
  return { caller, report };
}
