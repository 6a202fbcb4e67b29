// Handlers of plexus.v1.Plexus: what this node is and hosts, its peers, its routes and the
// capabilities the cluster can answer.
import type * as grpc from '@grpc/grpc-js';
import type { ModelInfo } from '../../inference/types.ts';
import type { ModelCatalog } from '../dispatch.ts';
import type { PeerView, RouteView } from '../p2p/service.ts';
import { tensorMetadata } from './kserve.ts';
import type { WireCapabilityProvider, WireGetRoutesRequest, WireListCapabilitiesRequest } from '../../wire/plexus-messages.ts';
import { byCodeUnit } from '../order.ts';

export interface NodeIdentity {
  /** libp2p peer id; '' while the node runs without libp2p. */
  peerId(): string;
  grpcAddress(): string;
  listenAddrs(): readonly string[];
}

/** The libp2p side as the API shows it; absent on a node without libp2p. */
export interface ClusterView {
  peers(): readonly PeerView[];
  routes(): readonly RouteView[];
  readonly policy: string;
  readonly routeOnly: boolean;
}

export interface PlexusDeps {
  readonly catalog: ModelCatalog;
  readonly identity: NodeIdentity;
  readonly version: string;
  /** performance.now() at node start. */
  readonly startedAt: number;
  readonly cluster?: ClusterView;
}

type ListCapabilitiesRequest = WireListCapabilitiesRequest;
type GetRoutesRequest = WireGetRoutesRequest;
type WireProvider = WireCapabilityProvider;

export function createPlexusService(deps: PlexusDeps): grpc.UntypedServiceImplementation {
  const { catalog, identity, cluster } = deps;

  function localProviders(wanted: string): Map<string, WireProvider[]> {
    const byCapability = new Map<string, WireProvider[]>();
    for (const m of catalog.list()) {
      for (const capability of m.capabilities) {
        if (wanted && capability !== wanted) continue;
        const providers = byCapability.get(capability) ?? [];
        providers.push({
          peer_id: identity.peerId(), model: m.name, version: m.version, provider: m.provider,
          price: m.price, local: true, ready: m.ready, hops: 0, expected_ms: 0, next_hop: identity.peerId(),
        });
        byCapability.set(capability, providers);
      }
    }
    return byCapability;
  }

  return {
    GetNode(_call: grpc.ServerUnaryCall<object, object>, cb: grpc.sendUnaryData<object>) {
      const models = catalog.list();
      cb(null, {
        peer_id: identity.peerId(),
        version: deps.version,
        uptime_seconds: (performance.now() - deps.startedAt) / 1000,
        grpc_address: identity.grpcAddress(),
        models: models.map(hostedModel),
        listen_addrs: [...identity.listenAddrs()],
        capabilities: [...new Set(models.flatMap((m) => m.capabilities))].sort(),
        routing_policy: cluster?.policy ?? '',
        route_only: cluster?.routeOnly ?? false,
      });
    },
    ListCapabilities(call: grpc.ServerUnaryCall<ListCapabilitiesRequest, object>, cb: grpc.sendUnaryData<object>) {
      const wanted = call.request.capability;
      // Local models come from the catalog (it knows about models that are not ready yet).
      const byCapability = localProviders(wanted);
      if (cluster !== undefined && !call.request.local_only) {
        for (const r of cluster.routes()) {
          if (r.local) continue;
          for (const capability of r.capabilities) {
            if (wanted && capability !== wanted) continue;
            const providers = byCapability.get(capability) ?? [];
            providers.push({
              peer_id: r.origin, model: r.model, version: r.version, provider: r.provider, price: r.price,
              local: false, ready: true, hops: r.hops, expected_ms: r.expectedMs, next_hop: r.nextHop,
            });
            byCapability.set(capability, providers);
          }
        }
      }
      const capabilities = [...byCapability].sort(([a], [b]) => byCodeUnit(a, b)).map(([name, providers]) => ({
        name, providers: providers.sort((a, b) => a.hops - b.hops || a.expected_ms - b.expected_ms),
      }));
      cb(null, { capabilities });
    },
    ListPeers(_call: grpc.ServerUnaryCall<object, object>, cb: grpc.sendUnaryData<object>) {
      const peers = (cluster?.peers() ?? []).map((p) => ({
        peer_id: p.peerId, neighbour: p.neighbour, rtt_ms: p.rttMs ?? 0, addrs: [...p.addrs], trust: p.trust ?? 'ok',
      }));
      cb(null, { peers: peers.sort((a, b) => byCodeUnit(a.peer_id, b.peer_id)) });
    },
    GetRoutes(call: grpc.ServerUnaryCall<GetRoutesRequest, object>, cb: grpc.sendUnaryData<object>) {
      const wanted = call.request.model;
      const now = Date.now();
      const routes = (cluster?.routes() ?? [])
        .filter((r) => !wanted || r.model === wanted || r.capabilities.includes(wanted))
        .sort((a, b) => byCodeUnit(a.model, b.model) || a.expectedMs - b.expectedMs)
        .map((r) => ({
          origin: r.origin, model: r.model, version: r.version, capabilities: [...r.capabilities], next_hop: r.nextHop,
          hops: r.hops, path_latency_ms: r.pathLatencyMs, compute_ms: r.computeMs, queue_wait_ms: r.queueWaitMs,
          expected_ms: r.expectedMs, price: r.price, provider: r.provider, seqno: r.seq,
          expires_in_ms: r.expiresAt === undefined ? 0 : Math.max(0, r.expiresAt - now), local: r.local, trust: r.trust,
        }));
      cb(null, { routes });
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
