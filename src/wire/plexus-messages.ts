// TypeScript shapes of plexus.v1.Plexus messages (proto/plexus/v1/plexus.proto) as the
// loader decodes them (protos.ts: keepCase, 64-bit integers as decimal strings, defaults
// filled), shared by the node's service, plexus/client and the CLI.
import type { Int64 } from './messages.ts';

export interface WireTensorInfo { name: string; datatype: string; shape: Int64[] }

export interface WireHostedModel {
  name: string; version: string; capabilities: string[]; platform: string;
  requested_provider: string; provider: string; price: number; ready: boolean;
  inputs: WireTensorInfo[]; outputs: WireTensorInfo[];
}

export interface WireGetNodeResponse {
  peer_id: string; version: string; uptime_seconds: number; grpc_address: string;
  models: WireHostedModel[]; listen_addrs: string[]; capabilities: string[]; routing_policy: string; route_only: boolean;
}

export interface WireListCapabilitiesRequest { capability: string; local_only: boolean }

export interface WireCapabilityProvider {
  peer_id: string; model: string; version: string; provider: string; price: number;
  local: boolean; ready: boolean; hops: number; expected_ms: number; next_hop: string;
}

export interface WireCapability { name: string; providers: WireCapabilityProvider[] }
export interface WireListCapabilitiesResponse { capabilities: WireCapability[] }

/** `trust` is '' (or absent, from an older node) when nothing is held against the peer. */
export interface WirePeer { peer_id: string; neighbour: boolean; rtt_ms: number; addrs: string[]; trust?: string }
export interface WireListPeersResponse { peers: WirePeer[] }

export interface WireGetRoutesRequest { model: string }

export interface WireRoute {
  origin: string; model: string; version: string; capabilities: string[]; next_hop: string; hops: number;
  path_latency_ms: number; compute_ms: number; queue_wait_ms: number; expected_ms: number; price: number;
  provider: string; seqno: string; expires_in_ms: number; local: boolean; trust?: string;
}
export interface WireGetRoutesResponse { routes: WireRoute[] }
