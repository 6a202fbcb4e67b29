// The KServe service definition with ModelInfer and ModelStreamInfer requests decoded by the
// bounded decoder (infer-decoder.ts) instead of protobufjs, whose decoding of a hostile message
// could cost hundreds of times its size before any check ran; their responses are encoded by
// infer-encoder.ts (one buffer, no message objects; protobufjs for what it leaves). Repository
// load/unload requests have their parameter map counted before protobufjs sees them. Refusals
// reach the handlers as `rejected` (a deserializer that throws would make grpc-js answer INTERNAL).
import type * as grpc from '@grpc/grpc-js';
import { InputLimitError, isPlexusError, type PlexusError } from '../../errors.ts';
import { decodeModelInferRequest, type DecodeLimits } from './infer-decoder.ts';
import { encodeModelInferResponse, encodeModelStreamInferResponse, withFallback } from './infer-encoder.ts';
import { MAX_PARAMETERS } from '../../wire/params.ts';
import { WireReader } from './wire-reader.ts';

export const BOUNDED_METHODS: readonly string[] = ['ModelInfer', 'ModelStreamInfer'];
/** The hand-written response encoder of each bounded method. */
const RESPONSE_ENCODERS: Readonly<Record<string, (m: never) => Buffer>> = {
  ModelInfer: encodeModelInferResponse,
  ModelStreamInfer: encodeModelStreamInferResponse,
};
/** Repository requests: protobufjs decodes them once their parameter map (field 3) is counted. */
const REPOSITORY_METHODS: readonly string[] = ['RepositoryModelLoad', 'RepositoryModelUnload'];
const REPOSITORY_PARAMETERS_FIELD = 3;

/** Entries of a top-level repeated field, counted without decoding anything. */
function countField(buf: Uint8Array, field: number, what: string): number {
  const r = new WireReader(buf, 0, buf.byteLength, what);
  let n = 0;
  while (r.more()) {
    const tag = r.uint32();
    if (tag >>> 3 === field) n++;
    r.skip(tag & 7);
  }
  return n;
}

/** protobufjs's decoder, after a count of the parameter map; a message past it comes back `rejected`. */
function guardedRepositoryDecoder(name: string, decode: (buf: Buffer) => object): (buf: Buffer) => object {
  return (buf) => {
    let rejected: PlexusError;
    try {
      const n = countField(buf, REPOSITORY_PARAMETERS_FIELD, `${name}Request`);
      if (n <= MAX_PARAMETERS) return decode(buf);
      rejected = new InputLimitError(`${name} has ${n} parameters; at most ${MAX_PARAMETERS} are allowed`);
    } catch (e) {
      if (!isPlexusError(e)) throw e;
      rejected = e;
    }
    return { repository_name: '', model_name: '', parameters: {}, rejected };
  };
}

export function withBoundedInferDecoding(service: grpc.ServiceDefinition, limits: DecodeLimits): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<object, object>> = { ...service };
  for (const name of BOUNDED_METHODS) {
    const method = service[name];
    if (method === undefined) throw new Error(`service has no method ${name}`);
    const encode = RESPONSE_ENCODERS[name];
    if (encode === undefined) throw new Error(`no response encoder for ${name}`);
    out[name] = {
      ...method,
      requestDeserialize: (buf: Buffer) => decodeModelInferRequest(buf, limits),
      responseSerialize: withFallback(encode as (m: object) => Buffer, method.responseSerialize),
    };
  }
  for (const name of REPOSITORY_METHODS) {
    const method = service[name];
    if (method === undefined) throw new Error(`service has no method ${name}`);
    out[name] = { ...method, requestDeserialize: guardedRepositoryDecoder(name, method.requestDeserialize) };
  }
  return out;
}
