// Loads the .proto files under proto/ at run time. One set of loader options for the whole
// project: snake_case names kept, 64-bit integers as decimal strings (exact, no Long), bytes
// as Buffer, absent fields filled with defaults so handlers never see `undefined` arrays.
//
// proto-loader parses the files (its include-path loader); the service definitions are built
// here, method by method, as proto-loader's loadSync builds them (same paths, names and
// (de)serializers: protobufjs's fromObject + encode, decode + toObject with these options),
// without the descriptors it adds for server reflection. Those (every message's
// DescriptorProto and every file's encoded FileDescriptorProto, with protobufjs's generated
// code for descriptor.proto's types) stayed in memory for the life of the process, unread:
// ~1.2 MB of heap (README, Memory). test/wire/protos.test.ts checks the definitions against
// loadSync's.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { Options } from '@grpc/proto-loader';
import { loadProtosWithOptionsSync } from '@grpc/proto-loader/build/src/util.js';
import type * as protobuf from 'protobufjs';

export const PROTO_ROOT = fileURLToPath(new URL('../../proto/', import.meta.url));

export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

export const PROTO_FILES = {
  inference: 'inference/grpc_service.proto',
  health: 'grpc/health/v1/health.proto',
  plexus: 'plexus/v1/plexus.proto',
  jobs: 'plexus/v1/jobs.proto',
} as const;

export const SERVICE_NAMES = {
  inference: 'inference.GRPCInferenceService',
  health: 'grpc.health.v1.Health',
  plexus: 'plexus.v1.Plexus',
  jobs: 'plexus.v1.Jobs',
} as const;

export interface LoadedServices {
  readonly inference: grpc.ServiceClientConstructor;
  readonly health: grpc.ServiceClientConstructor;
  readonly plexus: grpc.ServiceClientConstructor;
  readonly jobs: grpc.ServiceClientConstructor;
}

let cached: LoadedServices | undefined;

/** The services, loaded once per process (parsing protos is not free). */
export function loadServices(): LoadedServices {
  if (cached) return cached;
  const root = loadProtosWithOptionsSync(Object.values(PROTO_FILES), LOADER_OPTIONS);
  // Named by the service's last name component, as grpc-js's loadPackageDefinition names it.
  const make = (name: string): grpc.ServiceClientConstructor =>
    grpc.makeGenericClientConstructor(serviceDefinition(root.lookupService(name)), name.slice(name.lastIndexOf('.') + 1));
  cached = {
    inference: make(SERVICE_NAMES.inference),
    health: make(SERVICE_NAMES.health),
    plexus: make(SERVICE_NAMES.plexus),
    jobs: make(SERVICE_NAMES.jobs),
  };
  return cached;
}

/** A service's methods as proto-loader's loadSync defines them, less the reflection descriptors (the root is resolved). */
function serviceDefinition(service: protobuf.Service): grpc.ServiceDefinition {
  const path = service.fullName.replace(/^\./, '');
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    const request = method.resolvedRequestType;
    const response = method.resolvedResponseType;
    if (!request || !response) throw new Error(`proto method ${path}/${method.name} has unresolved types`);
    def[method.name] = {
      path: `/${path}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return def;
}

function serializer(type: protobuf.Type): (value: unknown) => Buffer {
  return (value) => {
    if (Array.isArray(value)) {
      throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    }
    return type.encode(type.fromObject(value as Record<string, unknown>)).finish() as Buffer;
  };
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => unknown {
  return (bytes) => type.toObject(type.decode(bytes), LOADER_OPTIONS);
}
