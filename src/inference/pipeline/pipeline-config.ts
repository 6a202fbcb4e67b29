// The `pipeline:` model entry (like a Triton ensemble): the capability's inputs, ordered steps
// (each names a CAPABILITY, routed on its own), where each step's inputs come from (the request
// or an earlier step's output) and which outputs form the response. Validated at load: unknown
// or forward references, duplicate names, a step calling its own pipeline -> ConfigError naming
// the path (models[i].pipeline...).
import * as z from 'zod';
import { ConfigError } from '../../errors.ts';
import type { TensorSpec } from '../../wire/types.ts';

const CAPABILITY_NAME = /^[a-z0-9]+(\.[a-z0-9_-]+)+$/;
const STEP_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const TENSOR_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;
/** `input.NAME` (the request's tensor) or `STEP.OUTPUT` (an earlier step's output tensor). */
const REF = /^[a-z][a-z0-9_-]{0,63}\.[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;
/** The reserved "step" name of the request's own inputs in references. */
export const REQUEST = 'input';

const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BF16', 'BYTES'] as const;
const ref = z.string().regex(REF, 'expected "input.NAME" (a request input) or "STEP.OUTPUT" (an earlier step\'s output)');
const tensorSchema = z.strictObject({
  name: z.string().regex(TENSOR_NAME, 'expected a tensor name'),
  datatype: z.enum(DATATYPES),
  shape: z.array(z.int().min(-1).max(2 ** 31)).max(8),
});

const stepSchema = z.strictObject({
  name: z.string().regex(STEP_NAME, 'expected a step name like "detect" (lowercase, no dots)'),
  /** Routed on its own through the routing table: any node serving it may run the step. */
  capability: z.string().regex(CAPABILITY_NAME, 'expected a dotted capability name like "ocr.detect"'),
  /** The step's input tensors by name, each from a reference. */
  inputs: z.record(z.string().regex(TENSOR_NAME, 'expected a tensor name'), ref),
  /** Fan-out: cut this input along dim 0 into chunks of at most `rows`, one call each, all at once; outputs joined along dim 0 in order. */
  split: z.strictObject({ input: z.string().regex(TENSOR_NAME), rows: z.int().min(1).max(1_000_000) }).optional(),
});

export const pipelineSchema = z.strictObject({
  inputs: z.array(tensorSchema).min(1).max(64),
  steps: z.array(stepSchema).min(1).max(32),
  outputs: z.array(tensorSchema.extend({ from: ref })).min(1).max(64),
});

export type PipelineOptions = z.output<typeof pipelineSchema>;

/** A reference resolved: `step` undefined for a request input. */
export interface TensorRef { readonly step?: string; readonly tensor: string }
export interface PipelineStep {
  readonly name: string;
  readonly capability: string;
  readonly inputs: readonly { readonly name: string; readonly from: TensorRef }[];
  /** The outputs later steps or the response use: what the step asks its capability for. */
  readonly outputs: readonly string[];
  readonly split?: { readonly input: string; readonly rows: number };
}
export interface PipelineSpec {
  readonly inputs: readonly TensorSpec[];
  readonly steps: readonly PipelineStep[];
  readonly outputs: readonly (TensorSpec & { readonly from: TensorRef })[];
}

export function parseRef(r: string): TensorRef {
  const dot = r.indexOf('.');
  const step = r.slice(0, dot);
  return step === REQUEST ? { tensor: r.slice(dot + 1) } : { step, tensor: r.slice(dot + 1) };
}

function unique(names: readonly string[], where: (i: number) => string, what: string): void {
  const seen = new Map<string, number>();
  names.forEach((n, i) => {
    const prev = seen.get(n);
    if (prev !== undefined) throw new ConfigError(`${where(i)}: duplicate ${what} '${n}' (also ${where(prev)})`);
    seen.set(n, i);
  });
}

/**
 * Check names and references of a parsed pipeline and compile it. `at` is the entry's path
 * (`models[3]`), `own` the entry's name and capabilities (a step may not call them).
 */
export function compilePipeline(p: PipelineOptions, at: string, own: readonly string[]): PipelineSpec {
  const base = `${at}.pipeline`;
  unique(p.inputs.map((t) => t.name), (i) => `${base}.inputs[${i}].name`, 'input');
  unique(p.steps.map((s) => s.name), (i) => `${base}.steps[${i}].name`, 'step');
  unique(p.outputs.map((t) => t.name), (i) => `${base}.outputs[${i}].name`, 'output');
  const inputs = new Set(p.inputs.map((t) => t.name));
  const used = new Map<string, Set<string>>(p.steps.map((s) => [s.name, new Set<string>()]));
  const check = (r: string, where: string, before: number): TensorRef => {
    const t = parseRef(r);
    if (t.step === undefined) {
      if (!inputs.has(t.tensor)) throw new ConfigError(`${where}: '${r}' names no input of the pipeline (inputs: ${[...inputs].join(', ')})`);
      return t;
    }
    const idx = p.steps.findIndex((s) => s.name === t.step);
    if (idx < 0) throw new ConfigError(`${where}: '${r}' names no step of the pipeline (steps: ${p.steps.map((s) => s.name).join(', ')})`);
    if (idx >= before) throw new ConfigError(`${where}: '${r}' uses the output of step '${t.step}', which has not run yet at this point (steps run in order)`);
    used.get(t.step)?.add(t.tensor);
    return t;
  };
  const steps = p.steps.map((s, i) => {
    const where = `${base}.steps[${i}]`;
    if (s.name === REQUEST) throw new ConfigError(`${where}.name: '${REQUEST}' is reserved (references "input.NAME" name the request's inputs)`);
    if (own.includes(s.capability)) throw new ConfigError(`${where}.capability: '${s.capability}' is this pipeline itself (a step routed back into its own pipeline would loop)`);
    const ins = Object.entries(s.inputs).map(([name, r]) => ({ name, from: check(r, `${where}.inputs.${name}`, i) }));
    if (ins.length === 0) throw new ConfigError(`${where}.inputs: expected at least one input`);
    if (s.split !== undefined && !(s.split.input in s.inputs)) throw new ConfigError(`${where}.split.input: '${s.split.input}' is not one of the step's inputs (${Object.keys(s.inputs).join(', ')})`);
    return { name: s.name, capability: s.capability, inputs: ins, ...(s.split === undefined ? {} : { split: s.split }) };
  });
  const outputs = p.outputs.map((o, i) => ({
    name: o.name, datatype: o.datatype, shape: o.shape, from: check(o.from, `${base}.outputs[${i}].from`, p.steps.length),
  }));
  return {
    inputs: p.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
    steps: steps.map((s) => ({ ...s, outputs: [...(used.get(s.name) ?? [])] })),
    outputs,
  };
}
