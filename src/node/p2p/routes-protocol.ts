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
import type { Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from '../../logger.ts';
import { RoutesCore } from '../../routing/routes-core.ts';
import type { SignedUpdate } from '../../routing/routes-messages.ts';
import { pingDue, routesTiming } from '../../routing/routes-timing.ts';
import type { PeerIdString } from '../../routing/types.ts';
import { decodeRoutesFrame } from './advert-codec.ts';
import { readFrames } from './framing.ts';
import type { P2PHost } from './host.ts';
import { admitUpdates } from './routes-admit.ts';
import type { NeighbourInfo, RoutesProtocol, RoutesProtocolInit } from './routes-api.ts';
import { RoutesLinks } from './routes-links.ts';
import { RoutesSigner } from './routes-signer.ts';

export const ROUTES_PROTOCOL = '/plexus/routes/1.0.0';
export type { RoutesTable } from '../../routing/routes-core.ts';
export type { NeighbourInfo, RoutesProtocol, RoutesProtocolInit } from './routes-api.ts';

export function createRoutesProtocol(init: RoutesProtocolInit): RoutesProtocol {
  return new RoutesAdapter(init);
}

class RoutesAdapter implements RoutesProtocol {
  readonly #init: RoutesProtocolInit;
  readonly #host: P2PHost;
  readonly #log: Logger;
  readonly #core: RoutesCore;
  readonly #links: RoutesLinks;
  readonly #opening = new Map<PeerIdString, Promise<boolean>>();
  readonly #timers: NodeJS.Timeout[] = [];
  #debounce: NodeJS.Timeout | undefined;
  #pingTick = 0;
  readonly #signer: RoutesSigner;

  constructor(init: RoutesProtocolInit) {
    this.#init = init;
    this.#host = init.host;
    this.#log = init.logger;
    this.#core = new RoutesCore({ self: init.host.peerId, table: init.table, limits: init.limits, timing: routesTiming(init) });
    this.#links = new RoutesLinks(init.host, this.#core, init.logger);
    this.#signer = new RoutesSigner({ ...init, core: this.#core, onBumped: () => { this.#scheduleFlush(); } });
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
    void this.#signer.refresh().then((changed) => { if (changed) this.#scheduleFlush(); });
  }

  tableChanged(): void {
    this.#scheduleFlush();
  }

  // ---- sending ----

  #scheduleFlush(): void {
    if (!this.#core.armFlush()) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.#core.flushFired();
      this.#flush(false);
      this.#links.requestSeqnos();
    }, this.#core.timing.debounceMs);
  }

  #flush(full: boolean): void {
    for (const [peer, updates] of this.#core.flush(full)) {
      const out = this.#links.get(peer);
      if (out !== undefined) void this.#links.sendUpdates(peer, out, updates);
    }
  }

  // ---- neighbours ----

  async #measureRtt(peer: PeerIdString): Promise<number | undefined> {
    try {
      return await this.#host.ping(peer, AbortSignal.timeout(this.#core.timing.pingTimeoutMs));
    } catch {
      return undefined;
    }
  }

  #down(peer: PeerIdString, why: string): void {
    if (this.#core.neighbourDown(peer)) this.#closeLink(peer, why);
  }

  /** The core has put `peer` down: close our stream to it and send what changed. */
  #closeLink(peer: PeerIdString, why: string): void {
    const out = this.#links.get(peer);
    this.#links.delete(peer);
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
      // On an open connection only: dialProtocol would dial a peer that just went (a frame it
      // sent before hanging up, handled after), undoing a trimmed link (degree-policy.ts).
      const conn = libp2p.getConnections(peerIdFromString(peer)).find((c) => c.status === 'open');
      if (conn === undefined) return false;
      const out = await conn.newStream(ROUTES_PROTOCOL, { signal: AbortSignal.timeout(this.#core.timing.openTimeoutMs) });
      if (!this.#core.running) { out.abort(new Error('stopping')); return false; }
      out.inactivityTimeout = 0;
      const rtt = (await this.#measureRtt(peer)) ?? 1;
      this.#links.set(peer, out);
      const { updates } = this.#core.neighbourUp(peer, rtt);
      out.addEventListener('close', () => {
        if (this.#links.get(peer) === out) this.#down(peer, 'routes stream closed');
        // A stream that died while the connection lives is reopened.
        if (this.#core.running && libp2p.getConnections(peerIdFromString(peer)).length > 0) {
          setTimeout(() => { void this.#ensureNeighbour(peer); }, this.#core.timing.reopenDelayMs).unref();
        }
      });
      this.#log.info({ peer, rttMs: rtt }, 'neighbour up');
      await this.#links.sendUpdates(peer, out, updates);
      return true;
    } catch (e) {
      this.#log.debug({ peer, err: (e as Error).message }, 'peer does not speak the routes protocol (yet)');
      return false;
    }
  }

  #ping(): void {
    const tick = this.#pingTick++;
    const all = this.#core.peers.entries();
    for (const [i, [peer, n]] of all.entries()) {
      if (!pingDue(tick, i, all.length, this.#core.timing)) continue;
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

  async #onFrame(peer: PeerIdString, bytes: Uint8Array): Promise<void> {
    let frame;
    try {
      frame = decodeRoutesFrame(bytes);
    } catch (e) {
      this.#strike(peer, (e as Error).message);
      return;
    }
    const updates = await admitUpdates(this.#core, this.#log, peer, frame.updates, (why) => { this.#strike(peer, why); });
    if (updates === undefined) return;
    if (!(await this.#ensureNeighbour(peer)) || !this.#core.running) return;
    const { changed, dials } = this.#core.applyFrame(peer, updates, frame.addrs);
    for (const { origin, addrs } of dials) {
      void this.#host.dialLearned(origin, addrs).then((ok) => { this.#core.dialEnded(origin, ok); });
    }
    if (frame.requests !== undefined) {
      const replies = this.#core.onSeqnoRequests(peer, frame.requests);
      if (replies.flush) this.#scheduleFlush();
      if (replies.bump) this.#signer.bump();
      for (const { to, req } of replies.forward) this.#links.sendRequests(to, [req]);
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
    await this.#signer.advertise(this.#init.localModels());
    await libp2p.handle(ROUTES_PROTOCOL, (stream, conn) => { this.#onInbound(stream, conn.remotePeer.toString()); }, { maxInboundStreams: 4 });
    libp2p.addEventListener('peer:connect', this.#onConnect);
    libp2p.addEventListener('peer:disconnect', this.#onDisconnect);
    for (const p of this.#host.connectedPeers()) void this.#ensureNeighbour(p);
    this.#timers.push(setInterval(() => { this.#refreshTick(); }, timing.refreshMs));
    this.#timers.push(setInterval(() => {
      if (this.#core.expire()) this.#scheduleFlush();
      // Repeat seqno requests nobody answered (the table backs off).
      this.#links.requestSeqnos();
    }, timing.expireEveryMs));
    this.#timers.push(setInterval(() => { this.#ping(); }, timing.pingEveryMs));
    for (const t of this.#timers) t.unref();
  }

  #refreshTick(): void {
    void this.#signer.refresh().then(() => { this.#flush(true); });
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
    this.#signer.cancel();
    const libp2p = this.#libp2p;
    libp2p.removeEventListener('peer:connect', this.#onConnect);
    libp2p.removeEventListener('peer:disconnect', this.#onDisconnect);
    try {
      await this.#signer.advertise([]);
      const signed = this.#core.own;
      if (signed !== undefined) {
        const withdrawal: SignedUpdate = { signed, metricMs: 0, hops: 0, retracted: false };
        const sends = this.#links.entries().map(([peer, out]) => this.#links.sendUpdates(peer, out, [withdrawal]).then(() => out.close({ signal: AbortSignal.timeout(500) })).catch(() => undefined));
        await Promise.race([Promise.all(sends), new Promise((r) => setTimeout(r, 1000))]);
      }
    } catch (e) {
      this.#log.debug({ err: (e as Error).message }, 'withdrawal failed');
    }
    this.#links.clear();
    this.#core.peers.clear();
    await libp2p.unhandle(ROUTES_PROTOCOL).catch(() => undefined);
  }
}
