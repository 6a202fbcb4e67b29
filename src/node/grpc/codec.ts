// KServe v2 ModelInferRequest/Response <-> internal InferRequest/InferResult. All request
// validation that does not need the model's signature happens here (names, datatypes,
// shapes, raw vs typed); the model-specific checks belong to the inference layer.
import { InvalidInputError } from '../../errors.ts';
import { checkShape, DATATYPES, decodeRawTensor, encodeRawTensor, isDataType } from '../../wire/tensor.ts';
import type { DataType, InferRequest, InferResult, ParamValue, Tensor } from '../../inference/types.ts';
import type { Int64, WireInferRequest, WireInferResponse, WireOutputTensor } from '../../wire/messages.ts';
import { decodeParams, encodeParams } from '../../wire/params.ts';
import { decodeTypedContents, encodeTypedContents, hasTypedData, hasTypedForm } from '../../wire/typed-contents.ts';

export const MAX_TENSORS = 64;
export const MAX_NAME_LENGTH = 256;

/** Transport-only parameter: asks for outputs in raw_output_contents. Not passed on. */
export const BINARY_DATA_PARAM = 'binary_data';

export interface CallContext {
  /** Internal id for logs when the client sent none. */
  readonly fallbackId: string;
  readonly deadline?: number;
  readonly signal?: AbortSignal;
}

export interface DecodedInferRequest {
  readonly request: InferRequest;
  /** Return outputs in raw_output_contents rather than typed contents. */
  readonly rawOutputs: boolean;
}

export function decodeInferRequest(msg: WireInferRequest, ctx: CallContext): DecodedInferRequest {
  const model = msg.model_name;
  if (!model) throw new InvalidInputError('model_name is required');
  checkName('model_name', model);
  const inputs = decodeInputs(msg);
  const parameters = decodeParams('request', msg.parameters);
  let rawOutputs = msg.raw_input_contents.length > 0 || popBinaryData(parameters);

  if (msg.outputs.length > MAX_TENSORS) {
    throw new InvalidInputError(`request asks for ${msg.outputs.length} outputs; at most ${MAX_TENSORS} are allowed`);
  }
  const outputs: string[] = [];
  for (const o of msg.outputs) {
    if (!o.name) throw new InvalidInputError('requested output has an empty name');
    checkName('output name', o.name);
    if (outputs.includes(o.name)) throw new InvalidInputError(`output '${o.name}' is requested twice`);
    outputs.push(o.name);
    if (popBinaryData(decodeParams(`output '${o.name}'`, o.parameters))) rawOutputs = true;
  }

  const request: InferRequest = {
    model,
    ...(msg.model_version ? { version: msg.model_version } : {}),
    id: msg.id || ctx.fallbackId,
    inputs,
    outputs,
    parameters,
    ...(ctx.deadline !== undefined ? { deadline: ctx.deadline } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
  return { request, rawOutputs };
}

function decodeInputs(msg: WireInferRequest): Tensor[] {
  if (msg.inputs.length === 0) throw new InvalidInputError('request has no inputs');
  if (msg.inputs.length > MAX_TENSORS) {
    throw new InvalidInputError(`request has ${msg.inputs.length} inputs; at most ${MAX_TENSORS} are allowed`);
  }
  const raw = msg.raw_input_contents;
  if (raw.length > 0 && raw.length !== msg.inputs.length) {
    throw new InvalidInputError(
      `raw_input_contents has ${raw.length} entries but the request has ${msg.inputs.length} inputs; they must match one to one`);
  }
  const seen = new Set<string>();
  return msg.inputs.map((input, i) => {
    if (!input.name) throw new InvalidInputError(`input #${i} has an empty name`);
    checkName('input name', input.name);
    if (seen.has(input.name)) throw new InvalidInputError(`input '${input.name}' appears more than once`);
    seen.add(input.name);
    const datatype = parseDatatype(input.name, input.datatype);
    const shape = parseShape(input.name, input.shape);
    const typed = hasTypedData(input.contents);
    const bytes = raw[i];
    if (bytes !== undefined) {
      if (typed) {
        throw new InvalidInputError(
          `input '${input.name}' has typed contents while the request uses raw_input_contents; use one or the other`);
      }
      return decodeRawTensor(input.name, datatype, shape, bytes);
    }
    if (!input.contents) {
      throw new InvalidInputError(`input '${input.name}' has no data (neither contents nor raw_input_contents)`);
    }
    return decodeTypedContents(input.name, datatype, shape, input.contents);
  });
}

function parseDatatype(input: string, datatype: string): DataType {
  if (isDataType(datatype)) return datatype;
  throw new InvalidInputError(
    `input '${input}': datatype '${datatype}' is not a KServe v2 datatype (expected one of ${Object.keys(DATATYPES).join(', ')})`);
}

function parseShape(input: string, wire: readonly Int64[]): number[] {
  const shape = wire.map(Number);
  checkShape(input, shape);
  return shape;
}

function checkName(what: string, name: string): void {
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidInputError(`${what} is ${name.length} characters; at most ${MAX_NAME_LENGTH} are allowed`);
  }
}

function popBinaryData(params: Record<string, ParamValue>): boolean {
  const v = params[BINARY_DATA_PARAM];
  if (v === undefined) return false;
  delete params[BINARY_DATA_PARAM];
  if (typeof v !== 'boolean') throw new InvalidInputError(`parameter '${BINARY_DATA_PARAM}' must be a bool, got ${typeof v}`);
  return v;
}

/**
 * raw_output_contents is positional over all outputs, so raw and typed cannot be mixed:
 * everything goes raw when asked, or when any output has no typed form (FP16, BF16).
 */
export function encodeInferResponse(result: InferResult, opts: { raw: boolean; id: string }): WireInferResponse {
  const raw = opts.raw || result.outputs.some((t) => !hasTypedForm(t.datatype));
  const outputs: WireOutputTensor[] = result.outputs.map((t) => ({
    name: t.name,
    datatype: t.datatype,
    shape: [...t.shape],
    ...(raw ? {} : { contents: encodeTypedContents(t) }),
  }));
  return {
    model_name: result.model,
    model_version: result.version,
    id: opts.id,
    parameters: encodeParams(result.parameters),
    outputs,
    raw_output_contents: raw ? result.outputs.map((t) => encodeRawTensor(t)) : [],
  };
}
