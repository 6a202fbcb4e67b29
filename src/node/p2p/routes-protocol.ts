// /plexus/routes/1.0.0: neighbours exchange signed route updates (distance vector).
// Each side opens its own outbound stream to send and reads the peer's inbound stream.
// Triggered updates are debounced; a periodic full dump re-signs our advert with a new seq
// (so routes that stop being refreshed expire) and a new neighbour gets a full dump at once.
// When the selected route to an origin is lost and only infeasible ones remain, a seqno
// request goes toward the origin (RFC 8966 §3.8.1), so the newer seq that makes the
// alternative usable comes within a few round trips instead of at the next refresh.
import type { PrivateKey, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from '../../logger.ts';
import type { RoutingTable } from '../../routing/table.ts';
import type { AdvertisedModel, PeerIdString, ProviderAdvert, RouteUpdate, RoutingTableApi } from '../../routing/types.ts';
import { advertChange } from '../../routing/advert-diff.ts';
import { advertViolation, DEFAULT_PEER_LIMITS, TokenBucket, type PeerLimits } from '../../routing/peer-limits.ts';
import { canonicalAdvert, decodeRoutesFrame, encodeRoutesFrame, signAdvert, verifyAdvert, MAX_ADDRS_PER_ORIGIN } from './advert-codec.ts';
import type { SignedAdvert, WireSeqnoRequest, WireUpdate } from './advert-codec.ts';
import { AdvertCache } from './advert-cache.ts';
import { DialBudget } from './dial-budget.ts';
import { readFrames, sendFrame } from './framing.ts';
import type { P2PHost } from './host.ts';
import { packRoutesFrames } from './routes-packing.ts';

export const ROUTES_PROTOCOL = '/plexus/routes/1.0.0';
/** How far a seqno request may travel toward its origin. */
const SEQNO_REQUEST_HOPS = 16;
const SEQNO_BUMP_MIN_MS = 100;

/** The table, with the seqno-request side of RFC 8966 that the routes protocol drives. */
export type RoutesTable = RoutingTableApi & Pick<RoutingTable, 'takeSeqnoRequests' | 'onSeqnoRequest' | 'knows' | 'onOriginGone'>;

export interface RoutesProtocolInit {
  readonly host: P2PHost;
  readonly table: RoutesTable;
  readonly privateKey: PrivateKey;
  readonly logger: Logger;
  /** What this node hosts right now (read on every advert). */
  readonly localModels: () => readonly AdvertisedModel[];
  readonly refreshMs?: number;
  /** Least time between adverts re-signed only because load or compute time moved (default min(1 s, refreshMs)). */
  readonly loadAdvertEveryMs?: number;
  readonly debounceMs?: number;
  readonly expireEveryMs?: number;
  readonly pingEveryMs?: number;
  /** Frame, advert, rate and dial-hint bounds (default DEFAULT_PEER_LIMITS); maxFrameBytes applies to frames sent and received. */
  readonly limits?: PeerLimits;
  /** Bad frames tolerated from one peer before it is disconnected. */
  readonly maxStrikes?: number;
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

interface Neighbour {
  out: Stream;
  rttMs: number;
  since: number;
  /** Pings in a row that got no answer. */
  missedPings: number;
}

/**
 * Pings in a row a neighbour may miss before we hang up on it. These pings are the liveness
 * check (libp2p's connection monitor is off, see host.ts): a frozen or half-open peer's routes
 * and forwarded queries fail over instead of waiting for TCP to notice.
 */
const MISSED_PINGS_TO_HANG_UP = 2;

export function createRoutesProtocol(init: RoutesProtocolInit): RoutesProtocol {
  const { host, table, logger: log } = init;
  const libp2p = host.libp2p;
  const self = host.peerId;
  const refreshMs = init.refreshMs ?? 1000;
  // Re-sign at least this often even when nothing changed, so issuedAt stays recent.
  const maxAdvertAgeMs = refreshMs * 30;
  // Load and compute time alone re-sign at most this often: under load they move every poll,
  // and each new seq is verified by every node (a 20-node cluster on 2 cores fell behind).
  const loadAdvertEveryMs = init.loadAdvertEveryMs ?? Math.min(1000, refreshMs);
  let lastSignedModels: readonly AdvertisedModel[] = [];
  let lastSignedAt = 0;
  const debounceMs = init.debounceMs ?? 50;
  const limits = init.limits ?? DEFAULT_PEER_LIMITS;
  const maxFrameBytes = limits.maxFrameBytes;
  const maxStrikes = init.maxStrikes ?? 3;

  const neighbours = new Map<PeerIdString, Neighbour>();
  const opening = new Map<PeerIdString, Promise<boolean>>();
  const strikes = new Map<PeerIdString, number>();
  // Signatures by origin/seq: the table keeps adverts, we keep what proves them.
  const proofs = new AdvertCache();
  // New adverts (signatures to verify) accepted per neighbour and second.
  const advertRate = new Map<PeerIdString, TokenBucket>();
  const dials = new DialBudget(limits, Date.now());
  const addrHints = new Map<PeerIdString, readonly string[]>();
  // origin -> neighbour -> last refresh (for route expiry in GetRoutes; the table keeps its own).
  const heard = new Map<PeerIdString, Map<PeerIdString, number>>();
  const timers: NodeJS.Timeout[] = [];
  let debounce: NodeJS.Timeout | undefined;
  let running = false;
  let ownSigned: SignedAdvert | undefined;
  let bumpTimer: NodeJS.Timeout | undefined;
  let lastBump = -Infinity;

  // Everything kept per origin goes when the table forgets the origin.
  const forgetOrigin = (origin: PeerIdString): void => {
    proofs.forget(origin);
    addrHints.delete(origin);
    heard.delete(origin);
    dials.forget(origin);
  };
  table.onOriginGone = forgetOrigin;

  const strike = (peer: PeerIdString, why: string): void => {
    const n = (strikes.get(peer) ?? 0) + 1;
    strikes.set(peer, n);
    log.warn({ peer, strikes: n, why }, 'dropped a bad routes frame');
    if (n >= maxStrikes) {
      log.warn({ peer }, 'disconnecting a peer that keeps sending bad routes frames');
      void libp2p.hangUp(peerIdFromString(peer)).catch(() => undefined);
    }
  };

  async function advertiseLocal(models: readonly AdvertisedModel[]): Promise<void> {
    const advert: ProviderAdvert = table.setLocalModels(models, Date.now());
    ownSigned = await signAdvert(init.privateKey, advert);
    const canonical = canonicalAdvert(ownSigned.advert);
    const why = advertViolation(advert, canonical.byteLength, limits);
    if (why !== undefined) log.warn({ why }, 'our own advert is over the peer limits: neighbours with the same limits will ignore it (node.p2p.limits)');
    proofs.remember(ownSigned, AdvertCache.digest(ownSigned, canonical));
    lastSignedModels = models;
    lastSignedAt = Date.now();
  }

  /**
   * The periodic refresh: a new seq only when the models changed in a way routing cares about
   * (or the advert is old); otherwise neighbours get the same signed advert again, which keeps
   * their routes alive without a network-wide flood of new seqs every refresh.
   */
  let refreshing: Promise<boolean> | undefined;
  function refreshLocal(): Promise<boolean> {
    // One at a time: the 100 ms poll must not sign the same change twice while a signature is pending.
    refreshing ??= (async () => {
      const models = init.localModels();
      const change = advertChange(lastSignedModels, models);
      const age = Date.now() - lastSignedAt;
      const due = change === 'models' || (change === 'load' && age >= loadAdvertEveryMs) || age >= maxAdvertAgeMs;
      if (!due) return false;
      await advertiseLocal(models);
      return true;
    })().finally(() => { refreshing = undefined; });
    return refreshing;
  }

  function toWire(u: RouteUpdate): WireUpdate | undefined {
    const sig = proofs.sig(u.advert.origin, u.advert.seq);
    if (sig === undefined) return undefined; // cannot prove it: do not relay
    return { signed: { advert: u.advert, sig }, metricMs: u.metricMs, hops: u.hops, retracted: u.retracted };
  }

  async function sendUpdates(peer: PeerIdString, n: Neighbour, updates: readonly WireUpdate[]): Promise<void> {
    const hintFor = (o: string): readonly string[] | undefined => (o === self ? ownHints() : addrHints.get(o));
    const { frames, skipped } = packRoutesFrames(updates, hintFor, maxFrameBytes);
    if (skipped.length > 0) log.warn({ peer, origins: skipped.slice(0, 8), count: skipped.length, maxFrameBytes }, 'route updates too large for a frame were not sent');
    for (const frame of frames) {
      try {
        await sendFrame(n.out, [frame]);
      } catch (e) {
        log.debug({ peer, err: (e as Error).message }, 'routes send failed');
        return;
      }
    }
  }

  function sendRequests(peer: PeerIdString, requests: readonly WireSeqnoRequest[]): void {
    const n = neighbours.get(peer);
    if (n === undefined || requests.length === 0) return;
    log.debug({ peer, count: requests.length }, 'seqno request');
    // ~100 bytes each: 1,024 per frame stays far under the frame limit and the decoder's count bound.
    for (let i = 0; i < requests.length; i += 1024) {
      sendFrame(n.out, [encodeRoutesFrame({ updates: [], addrs: {}, requests: requests.slice(i, i + 1024) })]).catch((e: unknown) => {
        log.debug({ peer, err: (e as Error).message }, 'seqno request send failed');
      });
    }
  }

  /** Ask for newer seqs of origins whose selected route was lost with only infeasible ones left. */
  function requestSeqnos(): void {
    const byPeer = new Map<PeerIdString, WireSeqnoRequest[]>();
    for (const r of table.takeSeqnoRequests(Date.now())) {
      const list = byPeer.get(r.to) ?? [];
      list.push({ origin: r.origin, seq: r.seq, hopsLeft: SEQNO_REQUEST_HOPS });
      byPeer.set(r.to, list);
    }
    for (const [peer, list] of byPeer) sendRequests(peer, list);
  }

  function onSeqnoRequests(from: PeerIdString, requests: readonly WireSeqnoRequest[]): void {
    for (const q of requests) {
      if (q.origin === self) {
        if (q.seq <= (ownSigned?.advert.seq ?? -1)) {
          // A bump since the request was made already answers it: send the current advert again.
          table.onSeqnoRequest(from, self, q.seq, Date.now());
          scheduleFlush();
        } else {
          bumpSeq();
        }
        continue;
      }
      const action = table.onSeqnoRequest(from, q.origin, q.seq, Date.now());
      if (action.kind === 'answered') scheduleFlush();
      else if (action.kind === 'forward' && q.hopsLeft > 1) sendRequests(action.to, [{ ...q, hopsLeft: q.hopsLeft - 1 }]);
    }
  }

  /**
   * Re-sign our advert with a newer seq (the table must not bump it unsigned). At most one bump
   * per SEQNO_BUMP_MIN_MS, so a request storm does not become an update storm; a request inside
   * that window is answered by one bump at its end, never dropped.
   */
  function bumpSeq(): void {
    if (bumpTimer !== undefined || !running) return;
    const wait = Math.max(0, lastBump + SEQNO_BUMP_MIN_MS - Date.now());
    bumpTimer = setTimeout(() => {
      lastBump = Date.now();
      void advertiseLocal(init.localModels())
        .then(scheduleFlush, (e: unknown) => { log.warn({ err: (e as Error).message }, 'could not re-sign the advert for a seqno request'); })
        .finally(() => { bumpTimer = undefined; });
    }, wait);
  }

  function flush(full: boolean): void {
    for (const [peer, n] of neighbours) {
      const wire = table.updatesFor(peer, full).map(toWire).filter((u): u is WireUpdate => u !== undefined);
      if (wire.length > 0) void sendUpdates(peer, n, wire);
    }
  }

  const scheduleFlush = (): void => {
    if (debounce !== undefined || !running) return;
    debounce = setTimeout(() => { debounce = undefined; flush(false); requestSeqnos(); }, debounceMs);
  };

  async function measureRtt(peer: PeerIdString): Promise<number | undefined> {
    try {
      return await host.ping(peer, AbortSignal.timeout(2000));
    } catch {
      return undefined;
    }
  }

  function down(peer: PeerIdString, why: string): void {
    const n = neighbours.get(peer);
    if (n === undefined) return;
    neighbours.delete(peer);
    for (const byNeighbour of heard.values()) byNeighbour.delete(peer);
    n.out.abort(new Error(why));
    table.neighbourDown(peer, Date.now());
    log.info({ peer, why }, 'neighbour down');
    scheduleFlush();
  }

  /** Open our outbound routes stream; the peer is a neighbour once it speaks the protocol. */
  function ensureNeighbour(peer: PeerIdString): Promise<boolean> {
    if (neighbours.has(peer)) return Promise.resolve(true);
    const pending = opening.get(peer);
    if (pending !== undefined) return pending;
    const p = (async (): Promise<boolean> => {
      try {
        const out = await libp2p.dialProtocol(peerIdFromString(peer), ROUTES_PROTOCOL, { signal: AbortSignal.timeout(5000) });
        if (!running) { out.abort(new Error('stopping')); return false; }
        out.inactivityTimeout = 0;
        const rtt = (await measureRtt(peer)) ?? 1;
        const n: Neighbour = { out, rttMs: rtt, since: Date.now(), missedPings: 0 };
        neighbours.set(peer, n);
        out.addEventListener('close', () => {
          if (neighbours.get(peer) === n) down(peer, 'routes stream closed');
          // A stream that died while the connection lives is reopened.
          if (running && libp2p.getConnections(peerIdFromString(peer)).length > 0) setTimeout(() => { void ensureNeighbour(peer); }, 100).unref();
        });
        table.neighbourUp(peer, rtt, Date.now());
        log.info({ peer, rttMs: rtt }, 'neighbour up');
        const wire = table.updatesFor(peer, true).map(toWire).filter((u): u is WireUpdate => u !== undefined);
        await sendUpdates(peer, n, wire);
        return true;
      } catch (e) {
        log.debug({ peer, err: (e as Error).message }, 'peer does not speak the routes protocol (yet)');
        return false;
      } finally {
        opening.delete(peer);
      }
    })();
    opening.set(peer, p);
    return p;
  }

  /** Our listen addresses as a dial hint: routable ones before loopback (receivers dial only the first few). */
  function ownHints(): string[] {
    const addrs = host.multiaddrs().map((a) => a.replace(/\/p2p\/[^/]+$/, ''));
    const loop = (a: string): boolean => a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/');
    return [...addrs.filter((a) => !loop(a)), ...addrs.filter(loop)].slice(0, MAX_ADDRS_PER_ORIGIN);
  }

  /**
   * The updates of a frame worth applying: within the advert limits (an oversize advert is
   * refused here, so it is never relayed), and each signature checked, unless it is a
   * byte-for-byte repeat, within the neighbour's advert rate. undefined: a forged signature
   * (the whole frame is dropped and the peer struck).
   */
  async function admitted(peer: PeerIdString, updates: readonly WireUpdate[]): Promise<{ u: WireUpdate; digest: string }[] | undefined> {
    const out: { u: WireUpdate; digest: string }[] = [];
    let refused = 0;
    for (const u of updates) {
      const { origin, seq } = u.signed.advert;
      if (origin === self) continue;
      const canonical = canonicalAdvert(u.signed.advert);
      const why = advertViolation(u.signed.advert, canonical.byteLength, limits);
      if (why !== undefined) { log.debug({ peer, origin, why }, 'advert refused'); refused++; continue; }
      const digest = AdvertCache.digest(u.signed, canonical);
      if (!proofs.isVerified(origin, seq, digest)) {
        let bucket = advertRate.get(peer);
        if (bucket === undefined) { bucket = new TokenBucket(limits.advertsPerSecond, limits.advertBurst, Date.now()); advertRate.set(peer, bucket); }
        if (!bucket.take(Date.now())) { refused++; continue; }
        if (!(await verifyAdvert(u.signed))) {
          strike(peer, `bad signature on the advert of ${origin} seq ${seq}`);
          return undefined;
        }
      }
      out.push({ u, digest });
    }
    if (refused > 0) log.debug({ peer, refused }, 'route updates over the advert limits or rate were ignored');
    return out;
  }

  /** Dial an origin at its hints (at most hintAddrsPerOrigin addresses) when the dial budget allows. */
  function dialHint(origin: PeerIdString, addrs: readonly string[]): void {
    if (neighbours.has(origin) || !dials.take(origin, Date.now())) return;
    void host.dialLearned(origin, addrs).then((ok) => {
      if (ok === undefined) dials.cancel(origin);
      else dials.done(origin, ok, Date.now());
    });
  }

  async function onFrame(peer: PeerIdString, bytes: Uint8Array): Promise<void> {
    let frame;
    try {
      frame = decodeRoutesFrame(bytes);
    } catch (e) {
      strike(peer, (e as Error).message);
      return;
    }
    const updates = await admitted(peer, frame.updates);
    if (updates === undefined) return;
    if (!(await ensureNeighbour(peer)) || !running) return;
    const now = Date.now();
    let changed = false;
    for (const { u, digest } of updates) {
      if (table.applyUpdate(peer, { advert: u.signed.advert, metricMs: u.metricMs, hops: u.hops, retracted: u.retracted }, now)) changed = true;
      const origin = u.signed.advert.origin;
      // Only what the table holds needs proving (an update over its caps is not remembered).
      if (!table.knows(origin)) continue;
      proofs.remember(u.signed, digest);
      if (u.retracted || !Number.isFinite(u.metricMs)) {
        heard.get(origin)?.delete(peer);
      } else {
        const byNeighbour = heard.get(origin) ?? new Map<PeerIdString, number>();
        byNeighbour.set(peer, now);
        heard.set(origin, byNeighbour);
      }
    }
    // Dial hints are unsigned: only those of origins this frame really offers a route to are
    // kept and dialled, so a neighbour cannot make us dial (or remember) arbitrary addresses.
    const offered = new Set(updates.filter(({ u }) => !u.retracted && Number.isFinite(u.metricMs)).map(({ u }) => u.signed.advert.origin));
    for (const [origin, all] of Object.entries(frame.addrs)) {
      if (origin === self || !offered.has(origin) || !table.knows(origin)) continue;
      const addrs = all.slice(0, limits.hintAddrsPerOrigin);
      addrHints.set(origin, addrs);
      dialHint(origin, addrs);
    }
    if (frame.requests !== undefined) onSeqnoRequests(peer, frame.requests);
    if (changed) scheduleFlush();
  }

  function onInbound(stream: Stream, peer: PeerIdString): void {
    stream.inactivityTimeout = 0;
    let chain: Promise<void> = Promise.resolve();
    readFrames(stream, maxFrameBytes, {
      onFrame: (f) => { chain = chain.then(() => onFrame(peer, f)).catch((e: unknown) => { log.warn({ peer, err: (e as Error).message }, 'routes frame handling failed'); }); },
      onOversize: (err) => { strike(peer, err.message); stream.abort(err); },
    });
  }

  const onConnect = (evt: CustomEvent<{ toString(): string }>): void => { void ensureNeighbour(evt.detail.toString()); };
  const onDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
    const peer = evt.detail.toString();
    strikes.delete(peer); // forget old strikes with the peer, so the map stays bounded
    advertRate.delete(peer);
    down(peer, 'disconnected');
  };

  return {
    neighbours: () => [...neighbours].map(([peer, n]) => ({ peer, rttMs: n.rttMs, since: n.since })),
    isNeighbour: (peer) => neighbours.has(peer),
    lastHeard: (origin, neighbour) => heard.get(origin)?.get(neighbour),
    stateSizes: () => ({
      sigs: proofs.size.sigs, sigOrigins: proofs.size.origins, addrHints: addrHints.size, heard: heard.size, dials: dials.size,
      rateBuckets: advertRate.size, strikes: strikes.size,
    }),
    localChanged() {
      void refreshLocal().then((changed) => { if (changed) scheduleFlush(); });
    },
    tableChanged: scheduleFlush,
    async start() {
      running = true;
      await advertiseLocal(init.localModels());
      await libp2p.handle(ROUTES_PROTOCOL, (stream, conn) => { onInbound(stream, conn.remotePeer.toString()); }, { maxInboundStreams: 4 });
      libp2p.addEventListener('peer:connect', onConnect);
      libp2p.addEventListener('peer:disconnect', onDisconnect);
      for (const p of host.connectedPeers()) void ensureNeighbour(p);
      timers.push(setInterval(() => {
        void refreshLocal().then(() => { flush(true); });
        // A routes stream that failed to open (a busy peer, a timeout) is tried again while the
        // connection lives; otherwise two connected nodes could never exchange routes.
        for (const p of host.connectedPeers()) if (!neighbours.has(p) && !opening.has(p)) void ensureNeighbour(p);
        // The table reports the origins it forgets (forgetOrigin); this sweep only catches
        // state about origins it never admitted.
        for (const origin of [...addrHints.keys(), ...heard.keys(), ...proofs.origins()]) if (origin !== self && !table.knows(origin)) forgetOrigin(origin);
      }, refreshMs));
      timers.push(setInterval(() => {
        if (table.expire(Date.now())) scheduleFlush();
        // Repeat seqno requests nobody answered (the table backs off).
        requestSeqnos();
      }, init.expireEveryMs ?? 250));
      timers.push(setInterval(() => {
        for (const [peer, n] of neighbours) {
          void measureRtt(peer).then((rtt) => {
            if (neighbours.get(peer) !== n) return;
            if (rtt === undefined) {
              n.missedPings++;
              if (n.missedPings >= MISSED_PINGS_TO_HANG_UP) {
                log.warn({ peer, missedPings: n.missedPings }, 'neighbour does not answer pings: hanging up');
                down(peer, 'no answer to pings');
                void libp2p.hangUp(peerIdFromString(peer)).catch(() => undefined);
              }
              return;
            }
            n.missedPings = 0;
            n.rttMs = rtt;
            table.observeLink(peer, rtt, Date.now());
          });
        }
      }, init.pingEveryMs ?? 5000));
      for (const t of timers) t.unref();
    },
    async stop() {
      if (!running) return;
      running = false;
      for (const t of timers) clearInterval(t);
      timers.length = 0;
      if (debounce !== undefined) clearTimeout(debounce);
      if (bumpTimer !== undefined) clearTimeout(bumpTimer);
      libp2p.removeEventListener('peer:connect', onConnect);
      libp2p.removeEventListener('peer:disconnect', onDisconnect);
      try {
        await advertiseLocal([]);
        const signed = ownSigned;
        if (signed !== undefined) {
          const withdrawal: WireUpdate = { signed, metricMs: 0, hops: 0, retracted: false };
          const sends = [...neighbours].map(([peer, n]) => sendUpdates(peer, n, [withdrawal]).then(() => n.out.close({ signal: AbortSignal.timeout(500) })).catch(() => undefined));
          await Promise.race([Promise.all(sends), new Promise((r) => setTimeout(r, 1000))]);
        }
      } catch (e) {
        log.debug({ err: (e as Error).message }, 'withdrawal failed');
      }
      neighbours.clear();
      await libp2p.unhandle(ROUTES_PROTOCOL).catch(() => undefined);
    },
  };
}
