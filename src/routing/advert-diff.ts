// Whether a node's new description of its models is worth a new signed advert (a new seq,
// which floods the whole network once). Periodic refreshes re-send the current advert with its
// old seq, which is enough to keep routes alive; only a change that matters for routing
// bumps the seq: a model, capability, price, provider or signature changed, compute time moved
// by more than 20% (and 1 ms), or load crossed a quarter of capacity.
import type { AdvertisedModel } from './types.ts';

const COMPUTE_FRACTION = 0.2;
const COMPUTE_MIN_MS = 1;

function identity(m: AdvertisedModel): string {
  return JSON.stringify([m.name, m.version, [...m.capabilities].sort(), m.provider, m.price, m.capacity, m.concurrency ?? 1, m.io ?? null]);
}

const loadStep = (m: AdvertisedModel): number => Math.floor((4 * m.load) / Math.max(1, m.capacity));

export function advertChanged(prev: readonly AdvertisedModel[], next: readonly AdvertisedModel[]): boolean {
  if (prev.length !== next.length) return true;
  const before = new Map(prev.map((m) => [`${m.name}@${m.version}`, m]));
  for (const m of next) {
    const p = before.get(`${m.name}@${m.version}`);
    if (p === undefined || identity(p) !== identity(m)) return true;
    if (Math.abs(m.computeMs - p.computeMs) > Math.max(COMPUTE_MIN_MS, COMPUTE_FRACTION * p.computeMs)) return true;
    if (loadStep(m) !== loadStep(p)) return true;
  }
  return false;
}
