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

/**
 * remoteModelInfo, made once per advertised model: an advert is replaced, never changed, when
 * its origin changes it, and a router resolves the name of every query it routes (for its
 * metrics' labels), so building the info each time was ~1.6 KB of garbage per query.
 */
const infos = new WeakMap<AdvertisedModel, ModelInfo | null>();
function infoOf(m: AdvertisedModel): ModelInfo | undefined {
  let info = infos.get(m);
  if (info === undefined) {
    info = remoteModelInfo(m) ?? null;
    infos.set(m, info);
  }
  return info ?? undefined;
}

export function createClusterCatalog(init: ClusterCatalogInit): ModelCatalog {
  return {
    // Only this node's models: ServerReady and GetNode speak for this node.
    list: () => init.local.list(),
    resolve(nameOrCapability, version) {
      const mine = init.local.resolve(nameOrCapability, version);
      if (mine !== undefined) return mine;
      const self = init.self();
      // Deterministic pick among providers with a known signature: exact model names before
      // capabilities, then the lowest origin id, then the first in that origin's advert.
      let best: { info: ModelInfo; exact: boolean; origin: string } | undefined;
      for (const a of init.adverts()) {
        if (a.origin === self) continue;
        for (const m of a.models) {
          const exact = m.name === nameOrCapability;
          if (!exact && !m.capabilities.includes(nameOrCapability)) continue;
          if (version !== undefined && m.version !== version) continue;
          if (best !== undefined && (best.exact && !exact || (best.exact === exact && best.origin <= a.origin))) continue;
          const info = infoOf(m);
          if (info !== undefined) best = { info, exact, origin: a.origin };
        }
      }
      return best?.info;
    },
  };
}
