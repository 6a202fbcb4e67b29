// The seam between the API front ends (gRPC) and whatever answers a query. Today the only
// implementation runs queries locally; a routing dispatcher will forward over libp2p.
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
