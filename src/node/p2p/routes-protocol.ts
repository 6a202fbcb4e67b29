// /plexus/routes/1.0.0: neighbours exchange signed route updates (distance vector).
// Each side opens its own outbound stream to send and reads the peer's inbound stream.
// Triggered updates are debounced; a periodic full dump re-signs our advert with a new seq
// (so routes that stop being refreshed expire) and a new neighbour gets a full dump at once.
// When the selected route to an origin is lost and only infeasible ones remain, a seqno
// request goes toward the origin (RFC 8966 §3.8.1), so the newer seq that makes the
// alternative usable comes within a few round trips instead of at the next refresh.
//
// This file is the libp2p adapter: streams, frames, signatures, pings and timers. Every
// decision (who is a neighbour, strikes, liveness, what to send when, seqno requests) is made
// by the protocol core, src/routing/routes-core.ts, which has no sockets.
import type { PrivateKey, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from '../../logger.ts';
import { AdvertCache } from '../../routing/advert-cache.ts';
import type { PeerLimits } from '../../routing/peer-limits.ts';
import { RoutesCore, type RoutesTable } from '../../routing/routes-core.ts';
import type { AdmittedUpdate, SeqnoRequestMsg, SignedUpdate } from '../../routing/routes-messages.ts';
import { routesTiming, type RoutesTimingInput } from '../../routing/routes-timing.ts';
import type { AdvertisedModel, PeerIdString } from '../../routing/types.ts';
import { canonicalAdvert, decodeRoutesFrame, encodeRoutesFrame, signAdvert, verifyAdvert, MAX_ADDRS_PER_ORIGIN } from './advert-codec.ts';
import { readFrames, sendFrame } from './framing.ts';
import type { P2PHost } from './host.ts';
import { packRoutesFrames } from './routes-packing.ts';

export const ROUTES_PROTOCOL = '/plexus/routes/1.0.0';
export type { RoutesTable } from '../../routing/routes-core.ts';

export interface RoutesProtocolInit extends RoutesTimingInput {
  readonly host: P2PHost;
  readonly table: RoutesTable;
  readonly privateKey: PrivateKey;
  readonly logger: Logger;
  /** What this node hosts right now (read on every advert). */
  readonly localModels: () => readonly AdvertisedModel[];
  /** Frame, advert, rate and dial-hint bounds (default DEFAULT_PEER_LIMITS); maxFrameBytes applies to frames sent and received. */
  readonly limits?: PeerLimits;
}

export interface NeighbourInfo {
  readonly peer: PeerIdString;
  readonly rttMs: number;
  readonly since: number;
}

export interface RoutesProtocol {
  neighbours(): readonly NeighbourInfo[];
  isNeighbour(peer: PeerIdString): boolean;
  /** When a (non-retracting) update about `origin` last came from `neighbour`, epoch ms. */
  lastHeard(origin: PeerIdString, neighbour: PeerIdString): number | undefined;
  /** Local models may have changed: re-advertise soon if they did in a way routing cares about (advertChange). */
  localChanged(): void;
  /** The table changed outside this protocol (a measured path floor): send what changed at once. */
  tableChanged(): void;
  /** Sizes of the per-origin and per-peer state this protocol keeps (bounds checks, tests). */
  stateSizes(): { sigs: number; sigOrigins: number; addrHints: number; heard: number; dials: number; rateBuckets: number; strikes: number };
  start(): Promise<void>;
  /** Send a withdrawal (new seq, no models) to every neighbour, then stop. */
  stop(): Promise<void>;
}

export function createRoutesProtocol(init: RoutesProtocolInit): RoutesProtocol {
  return new RoutesAdapter(init);
}

class RoutesAdapter implements RoutesProtocol {
  readonly #init: RoutesProtocolInit;
  readonly #host: P2PHost;
  readonly #log: Logger;
  readonly #core: RoutesCore;
  /** Our outbound stream to each neighbour. */
  readonly #out = new Map<PeerIdString, Stream>();
  readonly #opening = new Map<PeerIdString, Promise<boolean>>();
  readonly #timers: NodeJS.Timeout[] = [];
  #debounce: NodeJS.Timeout | undefined;
  #bumpTimer: NodeJS.Timeout | undefined;
  #refreshing: Promise<boolean> | undefined;

  constructor(init: RoutesProtocolInit) {
    this.#init = init;
    this.#host = init.host;
    this.#log = init.logger;
    this.#core = new RoutesCore({ self: init.host.peerId, table: init.table, limits: init.limits, timing: routesTiming(init) });
  }

  get #libp2p(): P2PHost['libp2p'] {
    return this.#host.libp2p;
  }

  neighbours(): readonly NeighbourInfo[] {
    return this.#core.peers.entries().map(([peer, n]) => ({ peer, rttMs: n.rttMs, since: n.since }));
  }

  isNeighbour(peer: PeerIdString): boolean {
    return this.#core.peers.has(peer);
  }

  lastHeard(origin: PeerIdString, neighbour: PeerIdString): number | undefined {
    return this.#core.lastHeard(origin, neighbour);
  }

  stateSizes(): ReturnType<RoutesProtocol['stateSizes']> {
    return this.#core.stateSizes();
  }

  localChanged(): void {
    void this.#refreshLocal().then((changed) => { if (changed) this.#scheduleFlush(); });
  }

  tableChanged(): void {
    this.#scheduleFlush();
  }

  // ---- our advert ----

  async #advertiseLocal(models: readonly AdvertisedModel[]): Promise<void> {
    const signed = await signAdvert(this.#init.privateKey, this.#core.newAdvert(models));
    const canonical = canonicalAdvert(signed.advert);
    const why = this.#core.signed(models, signed, canonical.byteLength, AdvertCache.digest(signed, canonical));
    if (why !== undefined) this.#log.warn({ why }, 'our own advert is over the peer limits: neighbours with the same limits will ignore it (node.p2p.limits)');
  }

  /** Re-sign when the core says it is due; one at a time, so a poll does not sign the same change twice. */
  #refreshLocal(): Promise<boolean> {
    this.#refreshing ??= (async () => {
      const models = this.#init.localModels();
      if (!this.#core.resignDue(models)) return false;
      await this.#advertiseLocal(models);
      return true;
    })().finally(() => { this.#refreshing = undefined; });
    return this.#refreshing;
  }

  /** Re-sign with a newer seq for a seqno request, when the core's bump gate allows. */
  #bumpSeq(): void {
    const wait = this.#core.bumpDelay();
    if (wait === undefined) return;
    this.#bumpTimer = setTimeout(() => {
      this.#core.bumpStarted();
      void this.#advertiseLocal(this.#init.localModels())
        .then(() => { this.#scheduleFlush(); }, (e: unknown) => { this.#log.warn({ err: (e as Error).message }, 'could not re-sign the advert for a seqno request'); })
        .finally(() => { this.#bumpTimer = undefined; this.#core.bumpDone(); });
    }, wait);
  }

  // ---- sending ----

  #scheduleFlush(): void {
    if (!this.#core.armFlush()) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.#core.flushFired();
      this.#flush(false);
      this.#requestSeqnos();
    }, this.#core.timing.debounceMs);
  }

  #flush(full: boolean): void {
    for (const [peer, updates] of this.#core.flush(full)) {
      const out = this.#out.get(peer);
      if (out !== undefined) void this.#sendUpdates(peer, out, updates);
    }
  }

  async #sendUpdates(peer: PeerIdString, out: Stream, updates: readonly SignedUpdate[]): Promise<void> {
    const hintFor = (o: string): readonly string[] | undefined => (o === this.#core.self ? this.#ownHints() : this.#core.hints(o));
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

  #sendRequests(peer: PeerIdString, requests: readonly SeqnoRequestMsg[]): void {
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

  #requestSeqnos(): void {
    for (const [peer, list] of this.#core.seqnoRequests()) this.#sendRequests(peer, list);
  }

  /** Our listen addresses as a dial hint: routable ones before loopback (receivers dial only the first few). */
  #ownHints(): string[] {
    const addrs = this.#host.multiaddrs().map((a) => a.replace(/\/p2p\/[^/]+$/, ''));
    const loop = (a: string): boolean => a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/');
    return [...addrs.filter((a) => !loop(a)), ...addrs.filter(loop)].slice(0, MAX_ADDRS_PER_ORIGIN);
  }

  // ---- neighbours ----

  async #measureRtt(peer: PeerIdString): Promise<number | undefined> {
    try {
      return await this.#libp2p.services.ping.ping(peerIdFromString(peer), { signal: AbortSignal.timeout(this.#core.timing.pingTimeoutMs) });
    } catch {
      return undefined;
    }
  }

  #down(peer: PeerIdString, why: string): void {
    if (this.#core.neighbourDown(peer)) this.#closeLink(peer, why);
  }

  /** The core has put `peer` down: close our stream to it and send what changed. */
  #closeLink(peer: PeerIdString, why: string): void {
    const out = this.#out.get(peer);
    this.#out.delete(peer);
    out?.abort(new Error(why));
    this.#log.info({ peer, why }, 'neighbour down');
    this.#scheduleFlush();
  }

  #hangUp(peer: PeerIdString): void {
    void this.#libp2p.hangUp(peerIdFromString(peer)).catch(() => undefined);
  }

  /** Open our outbound routes stream; the peer is a neighbour once it speaks the protocol. */
  #ensureNeighbour(peer: PeerIdString): Promise<boolean> {
    if (this.#core.peers.has(peer)) return Promise.resolve(true);
    const pending = this.#opening.get(peer);
    if (pending !== undefined) return pending;
    const p = this.#open(peer).finally(() => { this.#opening.delete(peer); });
    this.#opening.set(peer, p);
    return p;
  }

  async #open(peer: PeerIdString): Promise<boolean> {
    const libp2p = this.#libp2p;
    try {
      const out = await libp2p.dialProtocol(peerIdFromString(peer), ROUTES_PROTOCOL, { signal: AbortSignal.timeout(this.#core.timing.openTimeoutMs) });
      if (!this.#core.running) { out.abort(new Error('stopping')); return false; }
      out.inactivityTimeout = 0;
      const rtt = (await this.#measureRtt(peer)) ?? 1;
      this.#out.set(peer, out);
      const { updates } = this.#core.neighbourUp(peer, rtt);
      out.addEventListener('close', () => {
        if (this.#out.get(peer) === out) this.#down(peer, 'routes stream closed');
        // A stream that died while the connection lives is reopened.
        if (this.#core.running && libp2p.getConnections(peerIdFromString(peer)).length > 0) {
          setTimeout(() => { void this.#ensureNeighbour(peer); }, this.#core.timing.reopenDelayMs).unref();
        }
      });
      this.#log.info({ peer, rttMs: rtt }, 'neighbour up');
      await this.#sendUpdates(peer, out, updates);
      return true;
    } catch (e) {
      this.#log.debug({ peer, err: (e as Error).message }, 'peer does not speak the routes protocol (yet)');
      return false;
    }
  }

  #ping(): void {
    for (const [peer, n] of this.#core.peers.entries()) {
      void this.#measureRtt(peer).then((rtt) => {
        const verdict = this.#core.pinged(peer, n, rtt);
        if (verdict !== 'hang-up') return;
        this.#log.warn({ peer, missedPings: n.missedPings }, 'neighbour does not answer pings: hanging up');
        this.#closeLink(peer, 'no answer to pings');
        this.#hangUp(peer);
      });
    }
  }

  // ---- receiving ----

  #strike(peer: PeerIdString, why: string): void {
    const { strikes, hangUp } = this.#core.strike(peer);
    this.#log.warn({ peer, strikes, why }, 'dropped a bad routes frame');
    if (!hangUp) return;
    this.#log.warn({ peer }, 'disconnecting a peer that keeps sending bad routes frames');
    this.#hangUp(peer);
  }

  /**
   * The updates of a frame worth applying: within the advert limits (an oversize advert is
   * refused here, so it is never relayed), and each signature checked, unless it is a
   * byte-for-byte repeat, within the neighbour's advert rate. undefined: a forged signature
   * (the whole frame is dropped and the peer struck).
   */
  async #admitted(peer: PeerIdString, updates: readonly SignedUpdate[]): Promise<AdmittedUpdate[] | undefined> {
    const out: AdmittedUpdate[] = [];
    let refused = 0;
    for (const u of updates) {
      const canonical = canonicalAdvert(u.signed.advert);
      const digest = AdvertCache.digest(u.signed, canonical);
      const s = this.#core.screen(peer, u.signed, canonical.byteLength, digest);
      if (s.kind === 'own') continue;
      if (s.kind === 'refused') {
        if (s.why !== undefined) this.#log.debug({ peer, origin: u.signed.advert.origin, why: s.why }, 'advert refused');
        refused++;
        continue;
      }
      if (s.kind === 'verify' && !(await verifyAdvert(u.signed))) {
        this.#strike(peer, `bad signature on the advert of ${u.signed.advert.origin} seq ${u.signed.advert.seq}`);
        return undefined;
      }
      out.push({ u, digest });
    }
    if (refused > 0) this.#log.debug({ peer, refused }, 'route updates over the advert limits or rate were ignored');
    return out;
  }

  async #onFrame(peer: PeerIdString, bytes: Uint8Array): Promise<void> {
    let frame;
    try {
      frame = decodeRoutesFrame(bytes);
    } catch (e) {
      this.#strike(peer, (e as Error).message);
      return;
    }
    const updates = await this.#admitted(peer, frame.updates);
    if (updates === undefined) return;
    if (!(await this.#ensureNeighbour(peer)) || !this.#core.running) return;
    const { changed, dials } = this.#core.applyFrame(peer, updates, frame.addrs);
    for (const { origin, addrs } of dials) {
      void this.#host.dialLearned(origin, addrs).then((ok) => { this.#core.dialEnded(origin, ok); });
    }
    if (frame.requests !== undefined) {
      const replies = this.#core.onSeqnoRequests(peer, frame.requests);
      if (replies.flush) this.#scheduleFlush();
      if (replies.bump) this.#bumpSeq();
      for (const { to, req } of replies.forward) this.#sendRequests(to, [req]);
    }
    if (changed) this.#scheduleFlush();
  }

  #onInbound(stream: Stream, peer: PeerIdString): void {
    stream.inactivityTimeout = 0;
    let chain: Promise<void> = Promise.resolve();
    readFrames(stream, this.#core.limits.maxFrameBytes, {
      onFrame: (f) => { chain = chain.then(() => this.#onFrame(peer, f)).catch((e: unknown) => { this.#log.warn({ peer, err: (e as Error).message }, 'routes frame handling failed'); }); },
      onOversize: (err) => { this.#strike(peer, err.message); stream.abort(err); },
    });
  }

  readonly #onConnect = (evt: CustomEvent<{ toString(): string }>): void => { void this.#ensureNeighbour(evt.detail.toString()); };
  readonly #onDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
    const peer = evt.detail.toString();
    // The core forgets old strikes with the peer, so its maps stay bounded.
    if (this.#core.disconnected(peer)) this.#closeLink(peer, 'disconnected');
  };

  // ---- lifecycle ----

  async start(): Promise<void> {
    const libp2p = this.#libp2p;
    const timing = this.#core.timing;
    this.#core.start();
    await this.#advertiseLocal(this.#init.localModels());
    await libp2p.handle(ROUTES_PROTOCOL, (stream, conn) => { this.#onInbound(stream, conn.remotePeer.toString()); }, { maxInboundStreams: 4 });
    libp2p.addEventListener('peer:connect', this.#onConnect);
    libp2p.addEventListener('peer:disconnect', this.#onDisconnect);
    for (const p of this.#host.connectedPeers()) void this.#ensureNeighbour(p);
    this.#timers.push(setInterval(() => { this.#refreshTick(); }, timing.refreshMs));
    this.#timers.push(setInterval(() => {
      if (this.#core.expire()) this.#scheduleFlush();
      // Repeat seqno requests nobody answered (the table backs off).
      this.#requestSeqnos();
    }, timing.expireEveryMs));
    this.#timers.push(setInterval(() => { this.#ping(); }, timing.pingEveryMs));
    for (const t of this.#timers) t.unref();
  }

  #refreshTick(): void {
    void this.#refreshLocal().then(() => { this.#flush(true); });
    // A routes stream that failed to open (a busy peer, a timeout) is tried again while the
    // connection lives; otherwise two connected nodes could never exchange routes.
    for (const p of this.#host.connectedPeers()) if (!this.#core.peers.has(p) && !this.#opening.has(p)) void this.#ensureNeighbour(p);
    this.#core.sweep();
  }

  async stop(): Promise<void> {
    if (!this.#core.running) return;
    this.#core.stop();
    for (const t of this.#timers) clearInterval(t);
    this.#timers.length = 0;
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    if (this.#bumpTimer !== undefined) clearTimeout(this.#bumpTimer);
    const libp2p = this.#libp2p;
    libp2p.removeEventListener('peer:connect', this.#onConnect);
    libp2p.removeEventListener('peer:disconnect', this.#onDisconnect);
    try {
      await this.#advertiseLocal([]);
      const signed = this.#core.own;
      if (signed !== undefined) {
        const withdrawal: SignedUpdate = { signed, metricMs: 0, hops: 0, retracted: false };
        const sends = [...this.#out].map(([peer, out]) => this.#sendUpdates(peer, out, [withdrawal]).then(() => out.close({ signal: AbortSignal.timeout(500) })).catch(() => undefined));
        await Promise.race([Promise.all(sends), new Promise((r) => setTimeout(r, 1000))]);
      }
    } catch (e) {
      this.#log.debug({ err: (e as Error).message }, 'withdrawal failed');
    }
    this.#out.clear();
    this.#core.peers.clear();
    await libp2p.unhandle(ROUTES_PROTOCOL).catch(() => undefined);
  }
}
