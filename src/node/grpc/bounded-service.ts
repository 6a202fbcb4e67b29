// The KServe service definition with ModelInfer and ModelStreamInfer requests decoded by the
// bounded decoder (infer-decoder.ts) instead of protobufjs, whose decoding of a hostile message
// could cost hundreds of times its size before any check ran.
import type * as grpc from '@grpc/grpc-js';
import { decodeModelInferRequest, type DecodeLimits } from './infer-decoder.ts';

export const BOUNDED_METHODS: readonly string[] = ['ModelInfer', 'ModelStreamInfer'];

export function withBoundedInferDecoding(service: grpc.ServiceDefinition, limits: DecodeLimits): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<object, object>> = { ...service };
  for (const name of BOUNDED_METHODS) {
    const method = service[name];
    if (method === undefined) throw new Error(`service has no method ${name}`);
    out[name] = { ...method, requestDeserialize: (buf: Buffer) => decodeModelInferRequest(buf, limits) };
  }
  return out;
}
