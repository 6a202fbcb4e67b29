// Check a request's tensors against a model's declared inputs before anything reaches ONNX
// Runtime, so the caller gets a message naming the input and what was expected.
import { InvalidInputError } from '../errors.ts';
import { checkShape, dataMatchesType, elementCount, formatShape } from '../wire/tensor.ts';
import type { Tensor, TensorSpec } from './types.ts';

export interface ModelSignature {
  readonly name: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

function specNames(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `'${s.name}'`).join(', ');
}

export function validateInput(spec: TensorSpec, t: Tensor): void {
  if (t.datatype !== spec.datatype) {
    throw new InvalidInputError(`input '${t.name}': expected datatype ${spec.datatype}, got ${t.datatype}`);
  }
  checkShape(t.name, t.shape);
  const want = `expected shape ${formatShape(spec.shape)} (rank ${spec.shape.length}), got ${formatShape(t.shape)}`;
  if (t.shape.length !== spec.shape.length) throw new InvalidInputError(`input '${t.name}': ${want}`);
  spec.shape.forEach((d, i) => {
    if (d >= 0 && t.shape[i] !== d) throw new InvalidInputError(`input '${t.name}': ${want}`);
  });
  if (!dataMatchesType(t.datatype, t.data)) {
    throw new InvalidInputError(`input '${t.name}': data storage does not match datatype ${t.datatype}`);
  }
  const count = elementCount(t.shape);
  if (t.data.length !== count) {
    throw new InvalidInputError(`input '${t.name}': shape ${formatShape(t.shape)} needs ${count} elements, got ${t.data.length}`);
  }
}

/** Throws InvalidInputError for unknown, duplicate, missing or malformed inputs and unknown outputs. */
export function validateRequest(model: ModelSignature, inputs: readonly Tensor[], outputs: readonly string[]): void {
  const seen = new Set<string>();
  for (const t of inputs) {
    const spec = model.inputs.find((s) => s.name === t.name);
    if (spec === undefined) {
      throw new InvalidInputError(`input '${t.name}': model '${model.name}' has no such input; expected one of ${specNames(model.inputs)}`);
    }
    if (seen.has(t.name)) throw new InvalidInputError(`input '${t.name}': given more than once`);
    seen.add(t.name);
    validateInput(spec, t);
  }
  for (const s of model.inputs) {
    if (!seen.has(s.name)) {
      throw new InvalidInputError(`input '${s.name}': missing; model '${model.name}' expects ${s.datatype} ${formatShape(s.shape)}`);
    }
  }
  for (const o of outputs) {
    if (!model.outputs.some((s) => s.name === o)) {
      throw new InvalidInputError(`output '${o}': model '${model.name}' has no such output; expected one of ${specNames(model.outputs)}`);
    }
  }
}
