// The routes protocol's intake check on a received frame: which of its updates are worth
// applying. Limits and rates are the core's decision (RoutesCore.screen); verifying a
// signature is crypto, so it lives here beside the adapter (routes-protocol.ts).
import type { Logger } from '../../logger.ts';
import { AdvertCache } from '../../routing/advert-cache.ts';
import type { RoutesCore } from '../../routing/routes-core.ts';
import type { AdmittedUpdate, SignedUpdate } from '../../routing/routes-messages.ts';
import type { PeerIdString } from '../../routing/types.ts';
import { canonicalAdvert, verifyAdvert } from './advert-codec.ts';

/**
 * The updates of a frame worth applying: within the advert limits (an oversize advert is
 * refused here, so it is never relayed), and each signature checked, unless it is a
 * byte-for-byte repeat, within the neighbour's advert rate. undefined: a forged signature
 * (the whole frame is dropped and `strike` called with the reason).
 */
export async function admitUpdates(
  core: RoutesCore, log: Logger, peer: PeerIdString, updates: readonly SignedUpdate[], strike: (why: string) => void,
): Promise<AdmittedUpdate[] | undefined> {
  const out: AdmittedUpdate[] = [];
  let refused = 0;
  for (const u of updates) {
    const canonical = canonicalAdvert(u.signed.advert);
    const digest = AdvertCache.digest(u.signed, canonical);
    const s = core.screen(peer, u.signed, canonical.byteLength, digest);
    if (s.kind === 'own') continue;
    if (s.kind === 'refused') {
      if (s.why !== undefined) log.debug({ peer, origin: u.signed.advert.origin, why: s.why }, 'advert refused');
      refused++;
      continue;
    }
    if (s.kind === 'verify' && !(await verifyAdvert(u.signed))) {
      strike(`bad signature on the advert of ${u.signed.advert.origin} seq ${u.signed.advert.seq}`);
      return undefined;
    }
    out.push({ u, digest });
  }
  if (refused > 0) log.debug({ peer, refused }, 'route updates over the advert limits or rate were ignored');
  return out;
}
