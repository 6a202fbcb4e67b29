// The seam between the API front ends (gRPC, REST) and whatever answers a query: the local
// dispatcher runs queries on this node; the routed one (dispatch-routed.ts) picks a route and
// runs locally or forwards over libp2p.
import type { InferRequest, InferResult, ModelInfo } from '../inference/types.ts';

export interface QueryDispatcher {
  /** Throws PlexusError subclasses; the transport maps their kind to its status codes. */
  infer(request: InferRequest): Promise<InferResult>;
}

/** What the metadata RPCs (ModelReady, ModelMetadata, GetNode) can see. */
export interface ModelCatalog {
  list(): readonly ModelInfo[];
  resolve(nameOrCapability: string, version?: string): ModelInfo | undefined;
}
