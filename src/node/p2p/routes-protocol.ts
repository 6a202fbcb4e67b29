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
import { canonicalAdvert, decodeRoutesFrame, encodeRoutesFrame, signAdvert, verifyAdvert, MAX_UPDATES_PER_FRAME } from './advert-codec.ts';
import type { SignedAdvert, WireSeqnoRequest, WireUpdate } from './advert-codec.ts';
import { readFrames, sendFrame } from './framing.ts';
import type { P2PHost } from './host.ts';

export const ROUTES_PROTOCOL = '/plexus/routes/1.0.0';
/** How far a seqno request may travel toward its origin. */
const SEQNO_REQUEST_HOPS = 16;
const SEQNO_BUMP_MIN_MS = 100;

/** The table, with the seqno-request side of RFC 8966 that the routes protocol drives. */
export type RoutesTable = RoutingTableApi & Pick<RoutingTable, 'takeSeqnoRequests' | 'onSeqnoRequest'>;

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
  readonly maxFrameBytes?: number;
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
  const maxFrameBytes = init.maxFrameBytes ?? 1024 * 1024;
  const maxStrikes = init.maxStrikes ?? 3;

  const neighbours = new Map<PeerIdString, Neighbour>();
  const opening = new Map<PeerIdString, Promise<boolean>>();
  const strikes = new Map<PeerIdString, number>();
  // Signatures by origin/seq: the table keeps adverts, we keep what proves them.
  const sigs = new Map<string, Uint8Array>();
  const latestSeq = new Map<PeerIdString, number[]>();
  const addrHints = new Map<PeerIdString, readonly string[]>();
  // origin -> neighbour -> last refresh (for route expiry in GetRoutes; the table keeps its own).
  const heard = new Map<PeerIdString, Map<PeerIdString, number>>();
  const timers: NodeJS.Timeout[] = [];
  let debounce: NodeJS.Timeout | undefined;
  let running = false;
  let ownSigned: SignedAdvert | undefined;
  let bumpTimer: NodeJS.Timeout | undefined;
  let lastBump = -Infinity;

  // What was verified for each remembered origin/seq: signature and signed bytes, so a repeat
  // skips verification only when it is byte-for-byte the same signed advert.
  const verified = new Map<string, string>();
  const verifiedForm = (s: SignedAdvert): string => `${Buffer.from(s.sig).toString('base64')}|${Buffer.from(canonicalAdvert(s.advert)).toString('latin1')}`;
  const rememberSig = (s: SignedAdvert): void => {
    const { origin, seq } = s.advert;
    const key = `${origin}/${seq}`;
    // The same advert arrives from every neighbour and with every refresh: count it once, or
    // the current seq would push itself out of the window and stop being relayed.
    if (sigs.has(key)) return;
    sigs.set(key, s.sig);
    verified.set(key, verifiedForm(s));
    const seqs = latestSeq.get(origin) ?? [];
    seqs.push(seq);
    // Keep a few recent seqs per origin: the table may still hold a slightly older one.
    while (seqs.length > 4) {
      const old = `${origin}/${seqs.shift() ?? -1}`;
      sigs.delete(old);
      verified.delete(old);
    }
    latestSeq.set(origin, seqs);
  };

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
    rememberSig(ownSigned);
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
    const sig = sigs.get(`${u.advert.origin}/${u.advert.seq}`);
    if (sig === undefined) return undefined; // cannot prove it: do not relay
    return { signed: { advert: u.advert, sig }, metricMs: u.metricMs, hops: u.hops, retracted: u.retracted };
  }

  async function sendUpdates(peer: PeerIdString, n: Neighbour, updates: readonly WireUpdate[]): Promise<void> {
    for (let i = 0; i < updates.length; i += MAX_UPDATES_PER_FRAME) {
      const chunk = updates.slice(i, i + MAX_UPDATES_PER_FRAME);
      const addrs: Record<string, readonly string[]> = {};
      for (const u of chunk) {
        const o = u.signed.advert.origin;
        const hint = o === self ? host.multiaddrs().map((a) => a.replace(/\/p2p\/[^/]+$/, '')) : addrHints.get(o);
        if (hint !== undefined) addrs[o] = hint;
      }
      try {
        await sendFrame(n.out, [encodeRoutesFrame({ updates: chunk, addrs })]);
      } catch (e) {
        log.debug({ peer, err: (e as Error).message }, 'routes send failed');
        return;
      }
    }
  }

  function sendRequests(peer: PeerIdString, requests: readonly WireSeqnoRequest[]): void {
    const n = neighbours.get(peer);
    if (n === undefined || requests.length === 0) return;
    log.debug({ peer, origins: requests.map((r) => r.origin) }, 'seqno request');
    sendFrame(n.out, [encodeRoutesFrame({ updates: [], addrs: {}, requests })]).catch((e: unknown) => {
      log.debug({ peer, err: (e as Error).message }, 'seqno request send failed');
    });
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
      return await libp2p.services.ping.ping(peerIdFromString(peer), { signal: AbortSignal.timeout(2000) });
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

  async function onFrame(peer: PeerIdString, bytes: Uint8Array): Promise<void> {
    let frame;
    try {
      frame = decodeRoutesFrame(bytes);
    } catch (e) {
      strike(peer, (e as Error).message);
      return;
    }
    for (const u of frame.updates) {
      // Verified before: skip only when it is the very same signature (a forged twin is checked).
      const known = verified.get(`${u.signed.advert.origin}/${u.signed.advert.seq}`);
      if (known !== undefined && known === verifiedForm(u.signed)) continue;
      if (!(await verifyAdvert(u.signed))) {
        strike(peer, `bad signature on the advert of ${u.signed.advert.origin} seq ${u.signed.advert.seq}`);
        return; // the whole frame is dropped
      }
    }
    if (!(await ensureNeighbour(peer)) || !running) return;
    const now = Date.now();
    let changed = false;
    for (const u of frame.updates) {
      if (u.signed.advert.origin === self) continue;
      rememberSig(u.signed);
      if (table.applyUpdate(peer, { advert: u.signed.advert, metricMs: u.metricMs, hops: u.hops, retracted: u.retracted }, now)) changed = true;
      const origin = u.signed.advert.origin;
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
    const offered = new Set(frame.updates.filter((u) => !u.retracted && Number.isFinite(u.metricMs)).map((u) => u.signed.advert.origin));
    for (const [origin, addrs] of Object.entries(frame.addrs)) {
      if (origin === self || !offered.has(origin)) continue;
      addrHints.set(origin, addrs);
      host.dialLearned(origin, addrs);
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
    down(peer, 'disconnected');
  };

  return {
    neighbours: () => [...neighbours].map(([peer, n]) => ({ peer, rttMs: n.rttMs, since: n.since })),
    isNeighbour: (peer) => neighbours.has(peer),
    lastHeard: (origin, neighbour) => heard.get(origin)?.get(neighbour),
    localChanged() {
      void refreshLocal().then((changed) => { if (changed) scheduleFlush(); });
    },
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
        // Forget dial hints of origins the table dropped.
        const known = new Set(table.adverts().map((a) => a.origin));
        for (const origin of addrHints.keys()) if (!known.has(origin)) addrHints.delete(origin);
      }, refreshMs));
      timers.push(setInterval(() => {
        if (table.expire(Date.now())) scheduleFlush();
        // Repeat seqno requests nobody answered (the table backs off).
        requestSeqnos();
        // Forget refresh times of origins the table dropped.
        if (heard.size > 0) {
          const known = new Set(table.adverts().map((a) => a.origin));
          for (const origin of heard.keys()) if (!known.has(origin)) heard.delete(origin);
        }
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
