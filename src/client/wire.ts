// Client side of the KServe v2 messages: inputs always go as raw_input_contents (one copy-free
// view per typed array; the node then answers raw too), outputs come back as typed arrays
// decoded by the same tensor codec the node uses.
import * as grpc from '@grpc/grpc-js';
import type { WireInferRequest, WireInferResponse } from '../wire/messages.ts';
import { decodeParams, encodeParams, PARAM } from '../wire/params.ts';
import { decodeRawTensor, encodeRawTensor, isDataType } from '../wire/tensor.ts';
import { decodeTypedContents } from '../wire/typed-contents.ts';
import type { DataType, Params, Tensor, TensorData } from '../wire/types.ts';
import { PlexusClientError } from './errors.ts';
import type { InferRequest, InferResult, InputTensor, QueryConstraints, RouteInfo } from './types.ts';

type NumericCtor = { from(values: ArrayLike<number>): Exclude<TensorData, Uint8Array[] | BigInt64Array | BigUint64Array> };

const NUMERIC: Readonly<Partial<Record<DataType, NumericCtor>>> = {
  BOOL: Uint8Array, UINT8: Uint8Array, INT8: Int8Array, UINT16: Uint16Array, INT16: Int16Array,
  FP16: Uint16Array, BF16: Uint16Array, UINT32: Uint32Array, INT32: Int32Array,
  FP32: Float32Array, FP64: Float64Array,
};

function invalid(message: string): PlexusClientError {
  return new PlexusClientError(grpc.status.INVALID_ARGUMENT, message);
}

/** The input's data in the storage its datatype needs; typed arrays pass through uncopied. */
export function toTensorData(input: InputTensor): TensorData {
  const { name, datatype, data } = input;
  if (!isDataType(datatype)) throw invalid(`input '${name}': unknown datatype '${String(datatype)}'`);
  if (ArrayBuffer.isView(data)) return data as TensorData;
  const values = data as readonly unknown[];
  if (datatype === 'BYTES') {
    return values.map((v, i) => {
      if (typeof v === 'string') return new TextEncoder().encode(v);
      if (v instanceof Uint8Array) return v;
      throw invalid(`input '${name}': BYTES element ${i} must be a string or Uint8Array`);
    });
  }
  if (datatype === 'INT64' || datatype === 'UINT64') {
    const big = values.map((v, i) => {
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
      throw invalid(`input '${name}': ${datatype} element ${i} must be a bigint or a safe integer`);
    });
    return datatype === 'INT64' ? BigInt64Array.from(big) : BigUint64Array.from(big);
  }
  const ctor = NUMERIC[datatype];
  if (!ctor) throw invalid(`input '${name}': no plain-array form for ${datatype}`);
  return ctor.from(values.map((v, i) => {
    if (typeof v === 'number') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    throw invalid(`input '${name}': ${datatype} element ${i} must be a number`);
  }));
}

const CONSTRAINT_PARAMS: Readonly<Record<keyof QueryConstraints, string>> = {
  deadlineMs: PARAM.deadlineMs,
  maxCost: PARAM.maxCost,
  prefer: PARAM.prefer,
  maxHops: PARAM.maxHops,
  peer: PARAM.peer,
  provider: PARAM.provider,
  hedgeMs: PARAM.hedgeMs,
};

/** Constraints as plexus.* parameters; values go unchecked so the node's own rules apply. */
export function constraintParams(c: QueryConstraints | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (!c) return out;
  for (const [key, param] of Object.entries(CONSTRAINT_PARAMS) as [keyof QueryConstraints, string][]) {
    const v = c[key];
    if (v !== undefined) out[param] = v;
  }
  return out;
}

export function encodeInferRequest(req: InferRequest, id: string): WireInferRequest {
  const raw: Uint8Array[] = [];
  const inputs = req.inputs.map((input) => {
    const tensor: Tensor = { name: input.name, datatype: input.datatype, shape: input.shape, data: toTensorData(input) };
    const bytes = encodeRawTensor(tensor);
    // protobufjs writes a Buffer without copying it into an intermediate array.
    raw.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { name: input.name, datatype: input.datatype, shape: [...input.shape] };
  });
  const params: Params = { ...req.parameters, ...constraintParams(req.constraints) };
  return {
    model_name: req.model,
    model_version: req.version ?? '',
    id,
    parameters: encodeParams(params),
    inputs,
    outputs: (req.outputs ?? []).map((name) => ({ name })),
    raw_input_contents: raw,
  };
}

export function decodeInferResponse(res: WireInferResponse): InferResult {
  let outputs: Tensor[];
  let parameters: Record<string, string | number | boolean>;
  try {
    outputs = res.outputs.map((o, i) => {
      const shape = o.shape.map(Number);
      if (!isDataType(o.datatype)) throw new Error(`output '${o.name}' has unknown datatype '${o.datatype}'`);
      const bytes = res.raw_output_contents[i];
      if (bytes !== undefined) return decodeRawTensor(o.name, o.datatype, shape, bytes);
      return decodeTypedContents(o.name, o.datatype, shape, o.contents ?? {});
    });
    parameters = decodeParams('response', res.parameters);
  } catch (e) {
    throw new PlexusClientError(grpc.status.INTERNAL, `malformed response from the node: ${(e as Error).message}`, { cause: e });
  }
  const route = routeInfo(parameters);
  const traceId = parameters[PARAM.traceId];
  return {
    model: res.model_name,
    version: res.model_version,
    id: res.id,
    outputs,
    parameters,
    ...(route ? { route } : {}),
    ...(typeof traceId === 'string' && traceId !== '' ? { traceId } : {}),
    output(name: string): Tensor {
      const t = outputs.find((o) => o.name === name);
      if (!t) throw new PlexusClientError(grpc.status.NOT_FOUND, `response of '${res.model_name}' has no output '${name}' (has ${outputs.map((o) => o.name).join(', ') || 'none'})`);
      return t;
    },
  };
}

/** plexus.served_by / route / cost / hop_ms (and verified_by when cross-checked), set by a routing node. */
export function routeInfo(params: Readonly<Record<string, string | number | boolean>>): RouteInfo | undefined {
  const servedBy = params[PARAM.servedBy];
  if (typeof servedBy !== 'string' || servedBy === '') return undefined;
  const list = (v: unknown): string[] => (typeof v === 'string' && v !== '' ? v.split(',') : []);
  const verifiedBy = params[PARAM.verifiedBy];
  return {
    servedBy,
    route: list(params[PARAM.route]),
    cost: Number(params[PARAM.cost] ?? 0),
    hopMs: list(params[PARAM.hopMs]).map(Number),
    ...(typeof verifiedBy === 'string' && verifiedBy !== '' ? { verifiedBy } : {}),
  };
}
