// Where a request's time goes on the node that runs it, besides waiting for a slot and the model
// runs themselves: preparing its inputs (validation; an adapter's WAV or image decoding and the
// feeds built from it) and turning the outputs into the answer (an adapter's post-processing, the
// answer's tensors). Triton's compute_input and compute_output. The engine makes one per request
// only when a listener wants it, and hands it to the hosted model, which adds its own parts.
import type { AcquireOptions } from './run-limiter.ts';
import type { ParamValue, Params } from './types.ts';

export interface RunPhases {
  /** ms spent preparing the request's inputs for the model. */
  inputMs: number;
  /** ms spent turning the model's outputs into the answer. */
  outputMs: number;
  /**
   * Adapters only: ms of the adapter's own execution of this request (its steps on raw models,
   * which also count as those models' runs). Undefined for a raw model: its ORT runs report
   * through the compute hook, a batch once.
   */
  executeMs?: number;
}

/** A request's phases, once it was answered successfully by the model named. */
export type PhaseListener = (model: string, phases: Readonly<RunPhases>) => void;

/** What a hosted model's run takes: the slot options, and the phases to add to when timed. */
export interface RunOptions extends AcquireOptions {
  readonly phases?: RunPhases;
  /** The request behind the run: a pipeline passes its id, parameters and tenant on to its steps. */
  readonly request?: { readonly id: string; readonly parameters: Params; readonly tenant?: string | undefined };
  /** Response parameters a hosted model adds to the answer (a pipeline's plexus.steps and plexus.cost). */
  readonly answer?: Record<string, ParamValue>;
}
