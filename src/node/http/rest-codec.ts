// KServe v2 REST inference request/response JSON <-> internal InferRequest/InferResult. The
// same bounds as the gRPC codec (tensor and parameter counts, name lengths, shapes); the model-
// specific checks stay in the inference layer.
import { InvalidInputError } from '../../errors.ts';
import { checkShape, DATATYPES, isDataType } from '../../wire/tensor.ts';
import type { InferRequest, InferResult, ParamValue, Tensor } from '../../inference/types.ts';
import { BINARY_DATA_PARAM, MAX_NAME_LENGTH, MAX_TENSORS } from '../grpc/codec.ts';
import { MAX_PARAMETER_KEY, MAX_PARAMETER_STRING, MAX_PARAMETERS } from '../../wire/params.ts';
import { decodeJsonTensor, encodeJsonData, type JsonElement } from './json-tensors.ts';
import { isRecord } from '../wire-guards.ts';
import { newTally, type ElementTally, type InputLimits } from '../input-limits.ts';
import { PARAM } from '../../wire/params.ts';

/** Request parameter naming the time budget in ms; the HTTP layer turns it into a deadline too. */
export const DEADLINE_PARAM = PARAM.deadlineMs;

export interface RestInferResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id?: string;
  readonly parameters: Record<string, ParamValue>;
  readonly outputs: readonly { name: string; datatype: string; shape: number[]; data: JsonElement[] }[];
}

export interface RestCallContext {
  readonly model: string;
  readonly version?: string;
  readonly fallbackId: string;
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /** Element limits checked before each tensor is converted; absent = unchecked. */
  readonly limits?: Pick<InputLimits, 'maxTypedElements' | 'maxBytesElements'>;
}

type JsonObject = Record<string, unknown>;

function field<T>(where: string, obj: JsonObject, key: string, check: (v: unknown) => v is T, expected: string): T | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (!check(v)) throw new InvalidInputError(`${where}: "${key}" must be ${expected}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

function checkName(what: string, name: string): void {
  if (name.length === 0) throw new InvalidInputError(`${what} is empty`);
  if (name.length > MAX_NAME_LENGTH) throw new InvalidInputError(`${what} is ${name.length} characters; at most ${MAX_NAME_LENGTH} are allowed`);
}

export function decodeParameters(where: string, v: unknown): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  if (v === undefined) return out;
  if (!isRecord(v)) throw new InvalidInputError(`${where}: "parameters" must be an object`);
  const keys = Object.keys(v);
  if (keys.length > MAX_PARAMETERS) throw new InvalidInputError(`${where} has ${keys.length} parameters; at most ${MAX_PARAMETERS} are allowed`);
  for (const key of keys) {
    if (key.length === 0 || key.length > MAX_PARAMETER_KEY) throw new InvalidInputError(`${where} parameter name must be 1..${MAX_PARAMETER_KEY} characters`);
    const value = v[key];
    if (typeof value === 'string') {
      if (value.length > MAX_PARAMETER_STRING) throw new InvalidInputError(`${where} parameter '${key}' is ${value.length} characters; at most ${MAX_PARAMETER_STRING} are allowed`);
      out[key] = value;
    } else if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
      out[key] = value;
    } else {
      throw new InvalidInputError(`${where} parameter '${key}' must be a string, a finite number or a bool`);
    }
  }
  return out;
}

function refuseBinary(where: string, params: Record<string, ParamValue>): void {
  if (params[BINARY_DATA_PARAM] === true) {
    throw new InvalidInputError(`${where}: binary tensor data is not supported over REST; omit "${BINARY_DATA_PARAM}" (JSON data) or use gRPC`);
  }
  delete params[BINARY_DATA_PARAM];
}

function decodeInput(raw: unknown, i: number, seen: Set<string>, tally: ElementTally | undefined): Tensor {
  if (!isRecord(raw)) throw new InvalidInputError(`inputs[${i}] must be an object`);
  const name = field(`inputs[${i}]`, raw, 'name', isString, 'a string') ?? '';
  checkName(`inputs[${i}].name`, name);
  if (seen.has(name)) throw new InvalidInputError(`input '${name}' appears more than once`);
  seen.add(name);
  const where = `input '${name}'`;
  const datatype = field(where, raw, 'datatype', isString, 'a string');
  if (datatype === undefined || !isDataType(datatype)) {
    throw new InvalidInputError(`${where}: datatype '${datatype ?? ''}' is not a KServe v2 datatype (expected one of ${Object.keys(DATATYPES).join(', ')})`);
  }
  const shapeRaw = field(where, raw, 'shape', isArray, 'an array of integers');
  if (shapeRaw === undefined) throw new InvalidInputError(`${where} has no "shape"`);
  if (!shapeRaw.every((d) => typeof d === 'number')) throw new InvalidInputError(`${where}: "shape" must be an array of integers`);
  const shape = shapeRaw;
  checkShape(name, shape);
  refuseBinary(where, decodeParameters(where, raw.parameters));
  return decodeJsonTensor(name, datatype, shape, raw.data, tally);
}

/** The JSON body of POST /v2/models/{name}[/versions/{v}]/infer. */
export function decodeRestInferRequest(body: unknown, ctx: RestCallContext): InferRequest {
  if (!isRecord(body)) throw new InvalidInputError('request body must be a JSON object');
  const id = field('request', body, 'id', isString, 'a string');
  if (id !== undefined && id.length > MAX_NAME_LENGTH) throw new InvalidInputError(`request id is ${id.length} characters; at most ${MAX_NAME_LENGTH} are allowed`);
  const inputsRaw = field('request', body, 'inputs', isArray, 'an array');
  if (inputsRaw === undefined || inputsRaw.length === 0) throw new InvalidInputError('request has no inputs');
  if (inputsRaw.length > MAX_TENSORS) throw new InvalidInputError(`request has ${inputsRaw.length} inputs; at most ${MAX_TENSORS} are allowed`);
  const seen = new Set<string>();
  const tally = ctx.limits === undefined ? undefined : newTally(ctx.limits);
  const inputs = inputsRaw.map((raw, i) => decodeInput(raw, i, seen, tally));

  const outputsRaw = field('request', body, 'outputs', isArray, 'an array') ?? [];
  if (outputsRaw.length > MAX_TENSORS) throw new InvalidInputError(`request asks for ${outputsRaw.length} outputs; at most ${MAX_TENSORS} are allowed`);
  const outputs: string[] = [];
  outputsRaw.forEach((o, i) => {
    if (!isRecord(o)) throw new InvalidInputError(`outputs[${i}] must be an object`);
    const name = field(`outputs[${i}]`, o, 'name', isString, 'a string') ?? '';
    checkName(`outputs[${i}].name`, name);
    if (outputs.includes(name)) throw new InvalidInputError(`output '${name}' is requested twice`);
    refuseBinary(`output '${name}'`, decodeParameters(`output '${name}'`, o.parameters));
    outputs.push(name);
  });

  const parameters = decodeParameters('request', body.parameters);
  refuseBinary('request', parameters);
  return {
    model: ctx.model,
    ...(ctx.version !== undefined ? { version: ctx.version } : {}),
    id: id !== undefined && id !== '' ? id : ctx.fallbackId,
    inputs, outputs, parameters,
    ...(ctx.deadline !== undefined ? { deadline: ctx.deadline } : {}),
    ...(ctx.signal !== undefined ? { signal: ctx.signal } : {}),
  };
}

/** `id` is the client's id (absent when it sent none: the internal one is not echoed). */
export function encodeRestInferResponse(result: InferResult, id: string | undefined): RestInferResponse {
  return {
    model_name: result.model,
    model_version: result.version,
    ...(id !== undefined && id !== '' ? { id } : {}),
    parameters: { ...result.parameters },
    outputs: result.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape], data: encodeJsonData(t) })),
  };
}

/** A positive plexus.deadline_ms, if the request has one (a bad value is the router's to refuse). */
export function deadlineParamMs(body: unknown): number | undefined {
  if (!isRecord(body) || !isRecord(body.parameters)) return undefined;
  const v = body.parameters[DEADLINE_PARAM];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}
