// Our own advert in the routes protocol: signed when the core says a new seq is due (a
// refresh), at once for a seqno request asking for a newer one (through the core's bump gate),
// and empty (a withdrawal) at stop. Signing is crypto, so it lives beside the adapter.
import type { PrivateKey } from '@libp2p/interface';
import type { Logger } from '../../logger.ts';
import { AdvertCache } from '../../routing/advert-cache.ts';
import type { RoutesCore } from '../../routing/routes-core.ts';
import type { AdvertisedModel } from '../../routing/types.ts';
import { canonicalAdvert, signAdvert } from './advert-codec.ts';

export interface RoutesSignerInit {
  readonly core: RoutesCore;
  readonly privateKey: PrivateKey;
  readonly logger: Logger;
  /** What this node hosts right now. */
  readonly localModels: () => readonly AdvertisedModel[];
  /** A re-sign for a seqno request is done: its advert should go out. */
  readonly onBumped: () => void;
}

export class RoutesSigner {
  readonly #init: RoutesSignerInit;
  #refreshing: Promise<boolean> | undefined;
  #bumpTimer: NodeJS.Timeout | undefined;

  constructor(init: RoutesSignerInit) {
    this.#init = init;
  }

  /** Sign a new advert (new seq) for `models`. */
  async advertise(models: readonly AdvertisedModel[]): Promise<void> {
    const { core, logger } = this.#init;
    const signed = await signAdvert(this.#init.privateKey, core.newAdvert(models));
    const canonical = canonicalAdvert(signed.advert);
    const why = core.signed(models, signed, canonical.byteLength, AdvertCache.digest(signed, canonical));
    if (why !== undefined) logger.warn({ why }, 'our own advert is over the peer limits: neighbours with the same limits will ignore it (node.p2p.limits)');
  }

  /** Re-sign when the core says it is due; one at a time, so a poll does not sign the same change twice. */
  refresh(): Promise<boolean> {
    this.#refreshing ??= (async () => {
      const models = this.#init.localModels();
      if (!this.#init.core.resignDue(models)) return false;
      await this.advertise(models);
      return true;
    })().finally(() => { this.#refreshing = undefined; });
    return this.#refreshing;
  }

  /** Re-sign with a newer seq for a seqno request, when the core's bump gate allows. */
  bump(): void {
    const { core, logger } = this.#init;
    const wait = core.bumpDelay();
    if (wait === undefined) return;
    this.#bumpTimer = setTimeout(() => {
      core.bumpStarted();
      void this.advertise(this.#init.localModels())
        .then(() => { this.#init.onBumped(); }, (e: unknown) => { logger.warn({ err: (e as Error).message }, 'could not re-sign the advert for a seqno request'); })
        .finally(() => { this.#bumpTimer = undefined; core.bumpDone(); });
    }, wait);
  }

  /** Stop: a pending re-sign is not made. */
  cancel(): void {
    if (this.#bumpTimer !== undefined) clearTimeout(this.#bumpTimer);
  }
}
