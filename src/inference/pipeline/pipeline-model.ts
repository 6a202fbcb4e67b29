// A pipeline as a hosted model: listed, advertised and resolved like any other (a node hosting
// it serves its capability even without any of its steps' models), run by runPipeline with the
// node's step dispatcher. Answers carry plexus.steps (one record per step call) and plexus.cost
// (the steps' total; the routed dispatcher adds the pipeline's own price).
import { QueueFullError } from '../../errors.ts';
import type { PipelineModelSpec } from '../config.ts';
import { createEwma } from '../ewma.ts';
import { applyFault } from '../fault.ts';
import type { HostedModel } from '../hosted-model.ts';
import type { RunOptions } from '../run-phases.ts';
import { PIPELINE_PLATFORM } from '../../wire/steps.ts';
import type { ModelInfo, Tensor } from '../types.ts';
import { runPipeline } from './runner.ts';
import { stepsFor, type StepDispatcher } from './step-caller.ts';

export function createPipelineModel(spec: PipelineModelSpec, dispatch: StepDispatcher): HostedModel {
  const compute = createEwma(0.2);
  let inFlight = 0;
  const info: ModelInfo = {
    name: spec.name, version: spec.version, platform: PIPELINE_PLATFORM, capabilities: spec.capabilities,
    inputs: spec.pipeline.inputs, outputs: spec.pipeline.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
    requestedProvider: 'cpu', provider: 'cpu', price: spec.price, ready: true,
  };

  async function run(inputs: readonly Tensor[], outputs: readonly string[], opts: RunOptions): Promise<Tensor[]> {
    const { caller, report } = stepsFor(`pipeline '${spec.name}'`, spec, dispatch, opts);
    if (inFlight >= spec.maxConcurrent) throw new QueueFullError(`pipeline '${spec.name}' runs ${inFlight} queries already (maxConcurrent ${spec.maxConcurrent})`);
    inFlight++;
    const started = performance.now();
    try {
      await applyFault(spec.name, spec.fault, opts);
      const answer = await runPipeline(spec.name, spec.pipeline, caller, inputs);
      const ended = performance.now();
      compute.add(ended - started);
      if (opts.phases !== undefined) opts.phases.executeMs = ended - started;
      report();
      return outputs.length === 0 ? answer : answer.filter((t) => outputs.includes(t.name));
    } finally {
      inFlight--;
    }
  }

  return {
    info, run,
    stats: () => ({ name: spec.name, computeMs: compute.value, inFlight, queued: 0, maxConcurrent: spec.maxConcurrent, maxQueue: 0 }),
    close: () => Promise.resolve(),
  };
}
