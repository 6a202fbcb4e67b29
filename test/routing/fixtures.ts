// Builders shared by the routing tests: adverts, models, and a table that hears routes from
// neighbours the way src/node/p2p feeds it (neighbourUp first, then verified updates).
import { RoutingTable, type RoutingTableOptions } from '../../src/routing/table.ts';
import { seededRng } from '../../src/routing/rng.ts';
import type { AdvertisedModel, PeerIdString, ProviderAdvert, RouteUpdate } from '../../src/routing/types.ts';

export function model(name: string, over: Partial<AdvertisedModel> = {}): AdvertisedModel {
  return { name, version: '1', capabilities: [], provider: 'cpu', price: 1, computeMs: 10, load: 0, capacity: 8, ...over };
}

export function advert(origin: PeerIdString, seq: number, models: readonly AdvertisedModel[]): ProviderAdvert {
  return { origin, seq, models, issuedAt: 0 };
}

export function update(a: ProviderAdvert, metricMs: number, hops: number): RouteUpdate {
  return { advert: a, metricMs, hops, retracted: false };
}

export function retraction(a: ProviderAdvert): RouteUpdate {
  return { advert: a, metricMs: Infinity, hops: 0, retracted: true };
}

export function newTable(self = 'me', options: RoutingTableOptions = {}): RoutingTable {
  return new RoutingTable(self, { rng: seededRng(42), hopCostMs: 0, ...options });
}

/**
 * A table whose neighbours are themselves providers: each `origins` entry becomes a direct
 * neighbour (one-way link `linkMs`) advertising the given models at metric 0, hop 0.
 */
export function tableWithProviders(
  origins: Readonly<Record<PeerIdString, readonly AdvertisedModel[]>>, options: RoutingTableOptions & { linkMs?: number } = {}, now = 0,
): RoutingTable {
  const t = newTable('me', options);
  for (const [id, models] of Object.entries(origins)) {
    t.neighbourUp(id, 2 * (options.linkMs ?? 1), now);
    t.applyUpdate(id, update(advert(id, 1, models), 0, 0), now);
  }
  return t;
}
