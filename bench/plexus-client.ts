// A plexus.v1.Plexus client from the public .proto, as an operator's tool would use it: the
// bench asks each daemon what its routing table holds and which peers it has.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

const PROTO_ROOT = fileURLToPath(new URL('../proto/', import.meta.url));

interface Callback { (err: grpc.ServiceError | null, res?: unknown): void }
type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => grpc.ClientUnaryCall;
interface PlexusStub extends grpc.Client { GetRoutes: Unary; GetNode: Unary }

export interface WireRoute { origin: string; model: string; capabilities: string[]; next_hop: string; hops: number }

export interface PlexusAdminClient {
  routes(model?: string, timeoutMs?: number): Promise<WireRoute[]>;
  /** Resolves when the node answers GetNode. */
  ping(timeoutMs?: number): Promise<void>;
  close(): void;
}

let ctor: grpc.ServiceClientConstructor | undefined;

function plexusCtor(): grpc.ServiceClientConstructor {
  if (ctor) return ctor;
  const def = protoLoader.loadSync('plexus/v1/plexus.proto', {
    keepCase: true, longs: String, enums: String, defaults: true, arrays: true, includeDirs: [PROTO_ROOT],
  });
  const pkg = (grpc.loadPackageDefinition(def)['plexus'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject;
  ctor = pkg['Plexus'] as grpc.ServiceClientConstructor;
  return ctor;
}

export function createPlexusAdminClient(address: string): PlexusAdminClient {
  const Ctor = plexusCtor();
  const stub = new Ctor(address, grpc.credentials.createInsecure()) as unknown as PlexusStub;
  const call = (fn: Unary, req: unknown, timeoutMs: number): Promise<unknown> => new Promise((resolve, reject) => {
    fn.call(stub, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  return {
    async routes(model = '', timeoutMs = 2000) {
      return ((await call(stub.GetRoutes, { model }, timeoutMs)) as { routes: WireRoute[] }).routes;
    },
    async ping(timeoutMs = 2000) {
      await call(stub.GetNode, {}, timeoutMs);
    },
    close() { stub.close(); },
  };
}
