// Handlers of plexus.v1.Plexus: what this node is, hosts and can answer.
import type * as grpc from '@grpc/grpc-js';
import type { ModelInfo } from '../../inference/types.ts';
import type { ModelCatalog } from '../dispatch.ts';
import { tensorMetadata } from './kserve.ts';

export interface NodeIdentity {
  /** libp2p peer id; '' while the node runs without libp2p. */
  peerId(): string;
  grpcAddress(): string;
  listenAddrs(): readonly string[];
}

export interface PlexusDeps {
  readonly catalog: ModelCatalog;
  readonly identity: NodeIdentity;
  readonly version: string;
  /** performance.now() at node start. */
  readonly startedAt: number;
}

interface ListCapabilitiesRequest { capability: string; local_only: boolean }

export function createPlexusService(deps: PlexusDeps): grpc.UntypedServiceImplementation {
  const { catalog, identity } = deps;
  return {
    GetNode(_call: grpc.ServerUnaryCall<object, object>, cb: grpc.sendUnaryData<object>) {
      cb(null, {
        peer_id: identity.peerId(),
        version: deps.version,
        uptime_seconds: (performance.now() - deps.startedAt) / 1000,
        grpc_address: identity.grpcAddress(),
        models: catalog.list().map(hostedModel),
        listen_addrs: [...identity.listenAddrs()],
      });
    },
    ListCapabilities(call: grpc.ServerUnaryCall<ListCapabilitiesRequest, object>, cb: grpc.sendUnaryData<object>) {
      const wanted = call.request.capability;
      const byCapability = new Map<string, object[]>();
      for (const m of catalog.list()) {
        for (const capability of m.capabilities) {
          if (wanted && capability !== wanted) continue;
          const providers = byCapability.get(capability) ?? [];
          providers.push({
            peer_id: identity.peerId(), model: m.name, version: m.version, provider: m.provider,
            price: m.price, local: true, ready: m.ready, hops: 0, expected_ms: 0,
          });
          byCapability.set(capability, providers);
        }
      }
      const capabilities = [...byCapability].sort(([a], [b]) => a.localeCompare(b)).map(([name, providers]) => ({ name, providers }));
      cb(null, { capabilities });
    },
  };
}

function hostedModel(m: ModelInfo): object {
  return {
    name: m.name,
    version: m.version,
    capabilities: [...m.capabilities],
    platform: m.platform,
    requested_provider: m.requestedProvider,
    provider: m.provider,
    price: m.price,
    ready: m.ready,
    inputs: m.inputs.map(tensorMetadata),
    outputs: m.outputs.map(tensorMetadata),
  };
}
