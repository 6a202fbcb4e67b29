// Runs one pipeline query: each step is a call of the step caller (src/inference/pipeline/
// step-caller.ts), sent through a StepDispatcher (on a node, the routed dispatcher: the same
// path as a query entering the node, so a step runs here or is forwarded, with failover on the
// next route). The deadline is shared (every call carries the pipeline's absolute deadline, so
// each step gets what is left); plexus.max_cost bounds the sum of all calls' prices (each call
// is sent the budget left, split evenly over a fan-out's chunks).
import { InferenceFailedError } from '../../errors.ts';
import type { Tensor } from '../types.ts';
import type { PipelineSpec, TensorRef } from './pipeline-config.ts';
import type { StepCaller } from './step-caller.ts';

export type { StepDispatcher } from './step-caller.ts';

const keyOf = (r: TensorRef): string => `${r.step ?? 'input'}.${r.tensor}`;

/**
 * Run the steps of pipeline `name` in order, each a call of `caller` (which records them for
 * plexus.steps and holds the deadline and budget); the response's tensors.
 */
export async function runPipeline(name: string, spec: PipelineSpec, caller: StepCaller, inputs: readonly Tensor[]): Promise<Tensor[]> {
  const env = new Map<string, Tensor>(inputs.map((t) => [`input.${t.name}`, t]));
  for (const step of spec.steps) {
    const ins = step.inputs.map(({ name: n, from }) => {
      const t = env.get(keyOf(from));
      if (t === undefined) throw new InferenceFailedError(`pipeline '${name}' step '${step.name}': input '${n}' comes from '${keyOf(from)}', which the request or that step did not produce`);
      return { ...t, name: n };
    });
    const outputs = await caller.call(step.capability, ins, { name: step.name, outputs: step.outputs, ...(step.split === undefined ? {} : { split: step.split }) });
    for (const [n, t] of outputs) env.set(`${step.name}.${n}`, t);
  }
  const outputs = spec.outputs.map((o) => {
    const t = env.get(keyOf(o.from));
    if (t === undefined) throw new InferenceFailedError(`pipeline '${name}': output '${o.name}' comes from '${keyOf(o.from)}', which step '${o.from.step ?? 'input'}' did not return`);
    if (t.datatype !== o.datatype) throw new InferenceFailedError(`pipeline '${name}': output '${o.name}' is declared ${o.datatype} but '${keyOf(o.from)}' is ${t.datatype}`);
    return { ...t, name: o.name };
  });
  return outputs;
}
