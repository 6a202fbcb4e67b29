// Whether a node's new description of its models is worth a new signed advert (a new seq,
// which floods the whole network once). Periodic refreshes re-send the current advert with its
// old seq, which is enough to keep routes alive; only a change that matters for routing
// bumps the seq: a model, capability, price, provider or signature changed, compute time moved
// by more than 20% (and 1 ms), or load crossed a quarter of capacity (the last two rate-limited).
import type { AdvertisedModel } from './types.ts';

const COMPUTE_FRACTION = 0.2;
const COMPUTE_MIN_MS = 1;

function identity(m: AdvertisedModel): string {
  return JSON.stringify([m.name, m.version, [...m.capabilities].sort(), m.provider, m.price, m.capacity, m.concurrency ?? 1, m.io ?? null]);
}

const loadStep = (m: AdvertisedModel): number => Math.floor((4 * m.load) / Math.max(1, m.capacity));

/**
 * How a node's models changed since its last signed advert: 'models' (what it serves or its
 * terms: sign at once), 'load' (only compute time or load moved enough: worth a new advert, but
 * rate-limited by the caller, since under load these move all the time and each new seq floods
 * the network), or 'none'.
 */
export type AdvertChange = 'none' | 'load' | 'models';

export function advertChange(prev: readonly AdvertisedModel[], next: readonly AdvertisedModel[]): AdvertChange {
  if (prev.length !== next.length) return 'models';
  const before = new Map(prev.map((m) => [`${m.name}@${m.version}`, m]));
  let load = false;
  for (const m of next) {
    const p = before.get(`${m.name}@${m.version}`);
    if (p === undefined || identity(p) !== identity(m)) return 'models';
    if (Math.abs(m.computeMs - p.computeMs) > Math.max(COMPUTE_MIN_MS, COMPUTE_FRACTION * p.computeMs)) load = true;
    if (loadStep(m) !== loadStep(p)) load = true;
  }
  return load ? 'load' : 'none';
}
