// Loads the .proto files under proto/ at run time. One set of loader options for the whole
// project: snake_case names kept, 64-bit integers as decimal strings (exact, no Long), bytes
// as Buffer, absent fields filled with defaults so handlers never see `undefined` arrays.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_ROOT = fileURLToPath(new URL('../../proto/', import.meta.url));

export const LOADER_OPTIONS: protoLoader.Options = {
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
  const definition = protoLoader.loadSync(Object.values(PROTO_FILES), LOADER_OPTIONS);
  const root = grpc.loadPackageDefinition(definition);
  cached = {
    inference: pick(root, 'inference.GRPCInferenceService'),
    health: pick(root, 'grpc.health.v1.Health'),
    plexus: pick(root, 'plexus.v1.Plexus'),
    jobs: pick(root, 'plexus.v1.Jobs'),
  };
  return cached;
}

function pick(root: grpc.GrpcObject, path: string): grpc.ServiceClientConstructor {
  let node: unknown = root;
  for (const part of path.split('.')) {
    node = (node as Record<string, unknown>)[part];
  }
  if (typeof node !== 'function' || !('service' in node)) {
    throw new Error(`proto service ${path} not found under ${PROTO_ROOT}`);
  }
  return node as grpc.ServiceClientConstructor;
}

export const SERVICE_NAMES = {
  inference: 'inference.GRPCInferenceService',
  health: 'grpc.health.v1.Health',
  plexus: 'plexus.v1.Plexus',
  jobs: 'plexus.v1.Jobs',
} as const;
