// The `plexus.*` request and response parameters (one table of names: node, client and CLI
// import it) and the KServe InferParameter maps <-> internal Params codec. Bounded: a client
// cannot send an unbounded number of parameters or huge keys.
import { InvalidInputError } from '../errors.ts';
import type { ParamValue, Params } from './types.ts';
import type { WireInferParameter, WireParameters } from './messages.ts';

/** Every `plexus.*` parameter name. Request: what the caller asks; response: what the entry node reports. */
export const PARAM = {
  // request
  deadlineMs: 'plexus.deadline_ms',
  maxCost: 'plexus.max_cost',
  prefer: 'plexus.prefer',
  maxHops: 'plexus.max_hops',
  peer: 'plexus.peer',
  provider: 'plexus.provider',
  hedgeMs: 'plexus.hedge_ms',
  verify: 'plexus.verify',
  seal: 'plexus.seal',
  /** Internal: the pipelines (model names) a step query runs inside, outermost first (loop guard). */
  pipeline: 'plexus.pipeline',
  // response
  servedBy: 'plexus.served_by',
  route: 'plexus.route',
  cost: 'plexus.cost',
  hopMs: 'plexus.hop_ms',
  hedged: 'plexus.hedged',
  verifiedBy: 'plexus.verified_by',
  traceId: 'plexus.trace_id',
  /** A pipeline's answer: JSON array, one {capability, served_by, route, ms, cost} per step call. */
  steps: 'plexus.steps',
} as const;

export type ParamName = (typeof PARAM)[keyof typeof PARAM];

export const MAX_PARAMETERS = 64;
export const MAX_PARAMETER_KEY = 128;
export const MAX_PARAMETER_STRING = 4096;

/** `where` names the owner in messages, e.g. "request" or "output 'segments'". */
export function decodeParams(where: string, wire: WireParameters | undefined): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  if (!wire) return out;
  const keys = Object.keys(wire);
  if (keys.length > MAX_PARAMETERS) {
    throw new InvalidInputError(`${where} has ${keys.length} parameters; at most ${MAX_PARAMETERS} are allowed`);
  }
  for (const key of keys) {
    if (key.length === 0 || key.length > MAX_PARAMETER_KEY) {
      throw new InvalidInputError(`${where} parameter name must be 1..${MAX_PARAMETER_KEY} characters`);
    }
    out[key] = decodeValue(`${where} parameter '${key}'`, wire[key]);
  }
  return out;
}

function decodeValue(where: string, p: WireInferParameter | undefined): ParamValue {
  switch (p?.parameter_choice) {
    case 'bool_param':
      return p.bool_param === true;
    case 'string_param': {
      const s = p.string_param ?? '';
      if (s.length > MAX_PARAMETER_STRING) {
        throw new InvalidInputError(`${where} is ${s.length} characters; at most ${MAX_PARAMETER_STRING} are allowed`);
      }
      return s;
    }
    case 'double_param': {
      // As over REST: NaN and Infinity do not survive JSON on the forward protocol (null there).
      const d = p.double_param ?? 0;
      if (!Number.isFinite(d)) throw new InvalidInputError(`${where} is ${d}; expected a finite number`);
      return d;
    }
    case 'int64_param':
    case 'uint64_param': {
      const n = Number(p[p.parameter_choice] ?? 0);
      if (!Number.isSafeInteger(n)) {
        throw new InvalidInputError(`${where} is outside the safe integer range (|n| <= 2^53-1)`);
      }
      return n;
    }
    default:
      throw new InvalidInputError(`${where} has no value (expected bool_param, int64_param, string_param, double_param or uint64_param)`);
  }
}

export function encodeParams(params: Params): WireParameters {
  const out: WireParameters = {};
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'boolean') out[key] = { bool_param: value };
    else if (typeof value === 'string') out[key] = { string_param: value };
    else if (Number.isSafeInteger(value)) out[key] = { int64_param: value };
    else out[key] = { double_param: value };
  }
  return out;
}
