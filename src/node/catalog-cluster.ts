// The model catalog the API front ends see on a clustered node: this node's own models first,
// then every model a reachable provider advertises (with its tensor signature), so
// ModelMetadata and ModelReady answer for anything this node can route to. KServe clients
// (tritonclient, perf_analyzer) read metadata before they infer; without this they would
// refuse to query a capability that only lives elsewhere in the cluster.
import { isDataType } from '../wire/tensor.ts';
import type { ModelInfo, TensorSpec } from '../inference/types.ts';
import type { AdvertisedModel, AdvertisedTensor, ProviderAdvert } from '../routing/types.ts';
import type { ModelCatalog } from './dispatch.ts';

export interface ClusterCatalogInit {
  readonly local: ModelCatalog;
  /** Verified adverts of reachable origins (the routing table's view). */
  readonly adverts: () => readonly ProviderAdvert[];
  readonly self: () => string;
}

function tensorSpecs(ts: readonly AdvertisedTensor[]): TensorSpec[] | undefined {
  const out: TensorSpec[] = [];
  for (const t of ts) {
    if (!isDataType(t.datatype)) return undefined; // a newer peer's type we do not know: do not guess
    out.push({ name: t.name, datatype: t.datatype, shape: t.shape });
  }
  return out;
}

export function remoteModelInfo(m: AdvertisedModel): ModelInfo | undefined {
  if (m.io === undefined) return undefined;
  const inputs = tensorSpecs(m.io.inputs);
  const outputs = tensorSpecs(m.io.outputs);
  if (inputs === undefined || outputs === undefined) return undefined;
  return {
    name: m.name, version: m.version, platform: m.io.platform, capabilities: m.capabilities, inputs, outputs,
    requestedProvider: m.provider, provider: m.provider, price: m.price, ready: true,
  };
}

export function createClusterCatalog(init: ClusterCatalogInit): ModelCatalog {
  return {
    // Only this node's models: ServerReady and GetNode speak for this node.
    list: () => init.local.list(),
    resolve(nameOrCapability, version) {
      const mine = init.local.resolve(nameOrCapability, version);
      if (mine !== undefined) return mine;
      const self = init.self();
      const matches = (m: AdvertisedModel): boolean =>
        (m.name === nameOrCapability || m.capabilities.includes(nameOrCapability)) && (version === undefined || m.version === version);
      // Deterministic pick among providers: exact model names before capabilities, then by origin id.
      const found = init.adverts()
        .filter((a) => a.origin !== self)
        .flatMap((a) => a.models.filter(matches).map((m) => ({ origin: a.origin, m })))
        .sort((x, y) => Number(y.m.name === nameOrCapability) - Number(x.m.name === nameOrCapability) || (x.origin < y.origin ? -1 : 1));
      for (const { m } of found) {
        const info = remoteModelInfo(m);
        if (info !== undefined) return info;
      }
      return undefined;
    },
  };
}
