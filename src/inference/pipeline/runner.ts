// Runs one pipeline query: each step is sent through a StepDispatcher (on a node, the routed
// dispatcher: the same path as a query entering the node, so a step runs here or is forwarded,
// with failover on the next route). The deadline is shared (every call carries the pipeline's
// absolute deadline, so each step gets what is left); plexus.max_cost bounds the sum of all
// calls' prices (each call is sent the budget left, split evenly over a fan-out's chunks).
import { DeadlineExceededError, InferenceFailedError, isPlexusError, NoFeasibleRouteError } from '../../errors.ts';
import type { TraceSpan } from '../../trace.ts';
import type { InferRequest, InferResult, Params, Tensor } from '../types.ts';
import { maxCostOf, recordOf, shareOf, stepParameters, type StepRecord } from './budget.ts';
import type { PipelineSpec, PipelineStep, TensorRef } from './pipeline-config.ts';
import { chunkRanges, concatRows, sliceRows } from './split.ts';

/** Where a pipeline's steps go: structurally the node's QueryDispatcher. */
export interface StepDispatcher {
  infer(request: InferRequest): Promise<InferResult>;
}

/** The query a pipeline runs for. */
export interface PipelineQuery {
  readonly id: string;
  readonly parameters: Params;
  readonly deadline?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly trace?: TraceSpan | undefined;
  readonly tenant?: string | undefined;
}

export interface PipelineAnswer {
  readonly outputs: Tensor[];
  readonly steps: StepRecord[];
  /** Sum of the step calls' costs. */
  readonly cost: number;
}

const keyOf = (r: TensorRef): string => `${r.step ?? 'input'}.${r.tensor}`;

/**
 * Prefix a step's error with where it happened, keeping its class (and so its status), except
 * NOT_FOUND: a step nobody serves leaves the pipeline unable to run (FAILED_PRECONDITION); a
 * NOT_FOUND would read as "the pipeline is unknown" and make the entry node fail over.
 */
function inStep(e: unknown, name: string, step: PipelineStep): unknown {
  if (!(e instanceof Error) || e.message.startsWith('pipeline ')) return e;
  const message = `pipeline '${name}' step '${step.name}' (${step.capability}): ${e.message}`;
  if (isPlexusError(e) && e.kind === 'not_found') return new NoFeasibleRouteError(message, { cause: e });
  e.message = message;
  return e;
}

interface Ctx {
  readonly name: string;
  readonly query: PipelineQuery;
  readonly chain: readonly string[];
  readonly dispatch: StepDispatcher;
}

/** One call of a step (one chunk of a fan-out). */
async function call(ctx: Ctx, step: PipelineStep, inputs: Tensor[], budget: number, k: number | undefined, signal: AbortSignal | undefined): Promise<{ res: InferResult; rec: StepRecord }> {
  const { query } = ctx;
  const t0 = performance.now();
  const res = await ctx.dispatch.infer({
    model: step.capability, id: `${query.id}/${step.name}${k === undefined ? '' : `#${k}`}`, inputs, outputs: step.outputs,
    parameters: stepParameters(query.parameters, ctx.chain, budget),
    ...(query.deadline === undefined ? {} : { deadline: query.deadline }), ...(signal === undefined ? {} : { signal }),
    ...(query.trace === undefined ? {} : { trace: query.trace }), ...(query.tenant === undefined ? {} : { tenant: query.tenant }),
  });
  return { res, rec: recordOf(step.capability, res.parameters, performance.now() - t0) };
}

/** A step's calls (one, or one per chunk, all at once; the first failure cancels the others). */
async function runStep(ctx: Ctx, step: PipelineStep, inputs: Tensor[], left: number): Promise<{ outputs: Map<string, Tensor>; recs: StepRecord[] }> {
  const split = step.split;
  const cut = split === undefined ? undefined : inputs.find((t) => t.name === split.input);
  if (split === undefined || cut === undefined || cut.shape.length === 0) {
    const { res, rec } = await call(ctx, step, inputs, shareOf(left, 1, `pipeline '${ctx.name}' step '${step.name}'`), undefined, ctx.query.signal);
    return { outputs: new Map(res.outputs.map((t) => [t.name, t])), recs: [rec] };
  }
  const ranges = chunkRanges(cut.shape[0] ?? 0, split.rows);
  const share = shareOf(left, ranges.length, `pipeline '${ctx.name}' step '${step.name}'`);
  const ctl = new AbortController();
  const onAbort = (): void => { ctl.abort(ctx.query.signal?.reason); };
  ctx.query.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const calls: Promise<{ res: InferResult; rec: StepRecord }>[] = [];
    for (const [k, [s, e]] of ranges.entries()) {
      // One turn of the event loop between launches: the previous call has taken its route (and
      // counts as outstanding there), so the router's load balancing spreads the chunks.
      if (k > 0) await new Promise<void>((resolve) => { setImmediate(resolve); });
      if (ctl.signal.aborted) break;
      const part = inputs.map((t) => (t === cut ? sliceRows(t, s, e) : t));
      calls.push(call(ctx, step, part, share, k, ctl.signal).catch((err: unknown) => { ctl.abort(err); throw err; }));
    }
    const answers = await Promise.all(calls);
    const names = [...new Set(answers.flatMap((a) => a.res.outputs.map((t) => t.name)))];
    const outputs = new Map(names.map((n) => [n, concatRows(answers.map((a) => a.res.outputs.find((t) => t.name === n)).filter((t) => t !== undefined), `output '${n}'`)]));
    return { outputs, recs: answers.map((a) => a.rec) };
  } finally {
    ctx.query.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Run the steps in order. `name` is the pipeline's model name, `price` its own price (counted
 * against plexus.max_cost before any step), `chain` the pipelines the query is inside (this one last).
 */
export async function runPipeline(name: string, spec: PipelineSpec, price: number, chain: readonly string[], dispatch: StepDispatcher, query: PipelineQuery, inputs: readonly Tensor[]): Promise<PipelineAnswer> {
  const ctx: Ctx = { name, query, chain, dispatch };
  const env = new Map<string, Tensor>(inputs.map((t) => [`input.${t.name}`, t]));
  const maxCost = maxCostOf(query.parameters);
  const steps: StepRecord[] = [];
  let spent = 0;
  for (const step of spec.steps) {
    if (query.deadline !== undefined && Date.now() >= query.deadline) {
      throw new DeadlineExceededError(`pipeline '${name}': deadline passed before step '${step.name}' (${step.capability}) after ${steps.length} call(s)`);
    }
    const ins = step.inputs.map(({ name: n, from }) => {
      const t = env.get(keyOf(from));
      if (t === undefined) throw new InferenceFailedError(`pipeline '${name}' step '${step.name}': input '${n}' comes from '${keyOf(from)}', which the request or that step did not produce`);
      return { ...t, name: n };
    });
    try {
      const { outputs, recs } = await runStep(ctx, step, ins, maxCost - price - spent);
      steps.push(...recs);
      spent += recs.reduce((s, r) => s + r.cost, 0);
      for (const [n, t] of outputs) env.set(`${step.name}.${n}`, t);
    } catch (e) {
      throw inStep(e, name, step);
    }
    if (price + spent > maxCost) throw new NoFeasibleRouteError(`pipeline '${name}': its steps cost ${spent} (+${price}), over plexus.max_cost ${maxCost}`);
  }
  const outputs = spec.outputs.map((o) => {
    const t = env.get(keyOf(o.from));
    if (t === undefined) throw new InferenceFailedError(`pipeline '${name}': output '${o.name}' comes from '${keyOf(o.from)}', which step '${o.from.step ?? 'input'}' did not return`);
    if (t.datatype !== o.datatype) throw new InferenceFailedError(`pipeline '${name}': output '${o.name}' is declared ${o.datatype} but '${keyOf(o.from)}' is ${t.datatype}`);
    return { ...t, name: o.name };
  });
  return { outputs, steps, cost: spent };
}
