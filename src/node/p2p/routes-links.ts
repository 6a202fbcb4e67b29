// The routes protocol's outbound streams, one per neighbour, and what goes over them: route
// updates packed into frames under the frame limit (with dial hints), and seqno requests.
import type { Stream } from '@libp2p/interface';
import type { Logger } from '../../logger.ts';
import type { RoutesCore } from '../../routing/routes-core.ts';
import type { SeqnoRequestMsg, SignedUpdate } from '../../routing/routes-messages.ts';
import type { PeerIdString } from '../../routing/types.ts';
import { encodeRoutesFrame, MAX_ADDRS_PER_ORIGIN } from './advert-codec.ts';
import { sendFrame } from './framing.ts';
import type { P2PHost } from './host.ts';
import { packRoutesFrames } from './routes-packing.ts';

export class RoutesLinks {
  /** Our outbound stream to each neighbour. */
  readonly #out = new Map<PeerIdString, Stream>();
  readonly #host: P2PHost;
  readonly #core: RoutesCore;
  readonly #log: Logger;

  constructor(host: P2PHost, core: RoutesCore, log: Logger) {
    this.#host = host;
    this.#core = core;
    this.#log = log;
  }

  get(peer: PeerIdString): Stream | undefined {
    return this.#out.get(peer);
  }

  set(peer: PeerIdString, out: Stream): void {
    this.#out.set(peer, out);
  }

  delete(peer: PeerIdString): void {
    this.#out.delete(peer);
  }

  entries(): [PeerIdString, Stream][] {
    return [...this.#out];
  }

  clear(): void {
    this.#out.clear();
  }

  async sendUpdates(peer: PeerIdString, out: Stream, updates: readonly SignedUpdate[]): Promise<void> {
    const hintFor = (o: string): readonly string[] | undefined => (o === this.#core.self ? this.ownHints() : this.#core.hints(o));
    const maxFrameBytes = this.#core.limits.maxFrameBytes;
    const { frames, skipped } = packRoutesFrames(updates, hintFor, maxFrameBytes);
    if (skipped.length > 0) this.#log.warn({ peer, origins: skipped.slice(0, 8), count: skipped.length, maxFrameBytes }, 'route updates too large for a frame were not sent');
    for (const frame of frames) {
      try {
        await sendFrame(out, [frame]);
      } catch (e) {
        this.#log.debug({ peer, err: (e as Error).message }, 'routes send failed');
        return;
      }
    }
  }

  sendRequests(peer: PeerIdString, requests: readonly SeqnoRequestMsg[]): void {
    const out = this.#out.get(peer);
    if (out === undefined || requests.length === 0) return;
    this.#log.debug({ peer, count: requests.length }, 'seqno request');
    // ~100 bytes each: 1,024 per frame stays far under the frame limit and the decoder's count bound.
    for (let i = 0; i < requests.length; i += 1024) {
      sendFrame(out, [encodeRoutesFrame({ updates: [], addrs: {}, requests: requests.slice(i, i + 1024) })]).catch((e: unknown) => {
        this.#log.debug({ peer, err: (e as Error).message }, 'seqno request send failed');
      });
    }
  }

  /** Send the seqno requests the core says are due. */
  requestSeqnos(): void {
    for (const [peer, list] of this.#core.seqnoRequests()) this.sendRequests(peer, list);
  }

  /** Our listen addresses as a dial hint: routable ones before loopback (receivers dial only the first few). */
  ownHints(): string[] {
    const addrs = this.#host.multiaddrs().map((a) => a.replace(/\/p2p\/[^/]+$/, ''));
    const loop = (a: string): boolean => a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/');
    return [...addrs.filter((a) => !loop(a)), ...addrs.filter(loop)].slice(0, MAX_ADDRS_PER_ORIGIN);
  }
}
