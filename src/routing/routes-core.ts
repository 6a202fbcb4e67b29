// The routes protocol (/plexus/routes/1.0.0) as a pure state machine: neighbours, bad-frame
// strikes and liveness, advert admission, which adverts to send when, seqno requests and their
// re-sign gate, and the per-origin state kept beside the table. It takes the clock as an input
// and answers with decisions (send these updates, arm the debounce, hang up, dial, re-sign);
// the libp2p adapter (src/node/p2p/routes-protocol.ts) moves the bytes, signs and verifies,
// and runs the timers. Nothing here touches a socket, so tests and the simulator can drive it.
import { advertChange } from './advert-diff.ts';
import { advertViolation, DEFAULT_PEER_LIMITS, type PeerLimits } from './peer-limits.ts';
import type { AdmittedUpdate, SeqnoRequestMsg, SignedAdvert, SignedUpdate } from './routes-messages.ts';
import { OriginBook } from './routes-origins.ts';
import { PeerBook, type NeighbourState, type PingVerdict } from './routes-peers.ts';
import { answerSeqnoRequests, BumpGate, seqnoRequestsByPeer, type SeqnoReplies } from './routes-seqno.ts';
import { routesTiming, type RoutesTiming } from './routes-timing.ts';
import type { RoutingTable } from './table.ts';
import type { AdvertisedModel, PeerIdString, ProviderAdvert, RouteUpdate, RoutingTableApi } from './types.ts';

/** The table, with the seqno-request side of RFC 8966 that the routes protocol drives. */
export type RoutesTable = RoutingTableApi & Pick<RoutingTable, 'takeSeqnoRequests' | 'onSeqnoRequest' | 'knows' | 'onOriginGone' | 'takeUrgentChange'>;

export interface RoutesCoreInit {
  readonly self: PeerIdString;
  readonly table: RoutesTable;
  readonly limits?: PeerLimits | undefined;
  readonly timing?: RoutesTiming | undefined;
  /** Epoch ms (default Date.now). */
  readonly clock?: (() => number) | undefined;
}

/** How one advert of a received frame is to be treated before it is applied. */
export type Screening =
  | { readonly kind: 'own' }                       // our own advert relayed back: skip
  | { readonly kind: 'refused'; readonly why?: string } // over the limits (why) or the peer's advert rate
  | { readonly kind: 'known' }                     // this exact signed advert was verified before
  | { readonly kind: 'verify' };                   // check its signature (a forged one: strike)

export interface FrameOutcome {
  /** The table changed in a way worth a triggered update (RoutingTable.takeUrgentChange): flush soon. Smaller changes go with the next flush. */
  readonly changed: boolean;
  /** Origins to dial at their hints (the dial budget allowed each; report with dialEnded). */
  readonly dials: { readonly origin: PeerIdString; readonly addrs: readonly string[] }[];
}

export class RoutesCore {
  readonly self: PeerIdString;
  readonly timing: RoutesTiming;
  readonly limits: PeerLimits;
  readonly peers: PeerBook;
  readonly origins: OriginBook;
  readonly #table: RoutesTable;
  readonly #now: () => number;
  readonly #bump: BumpGate;
  #running = false;
  #flushArmed = false;
  #own: SignedAdvert | undefined;
  #lastSignedModels: readonly AdvertisedModel[] = [];
  #lastSignedAt = 0;

  constructor(init: RoutesCoreInit) {
    this.self = init.self;
    this.#table = init.table;
    this.limits = init.limits ?? DEFAULT_PEER_LIMITS;
    this.timing = init.timing ?? routesTiming();
    this.#now = init.clock ?? Date.now;
    this.peers = new PeerBook(this.limits, this.timing.maxStrikes, this.timing.missedPingsToHangUp);
    this.origins = new OriginBook(this.limits, this.#now());
    this.#bump = new BumpGate(this.timing.seqnoBumpMinMs);
    // Everything kept per origin goes when the table forgets the origin.
    this.#table.onOriginGone = (origin) => { this.origins.forget(origin); };
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    this.#running = true;
  }

  /** Stop deciding: no more flushes or re-signs are armed. */
  stop(): void {
    this.#running = false;
  }

  // ---- our own advert ----

  /** A new advert for `models` (seq bumped by the table), to be signed by the adapter. */
  newAdvert(models: readonly AdvertisedModel[]): ProviderAdvert {
    return this.#table.setLocalModels(models, this.#now());
  }

  /** The adapter signed our advert: remember its proof. Returns why it is over the peer limits, if it is. */
  signed(models: readonly AdvertisedModel[], signed: SignedAdvert, canonicalBytes: number, digest: string): string | undefined {
    this.#own = signed;
    this.origins.remember(signed, digest);
    this.#lastSignedModels = models;
    this.#lastSignedAt = this.#now();
    return advertViolation(signed.advert, canonicalBytes, this.limits);
  }

  get own(): SignedAdvert | undefined {
    return this.#own;
  }

  /**
   * The periodic refresh: a new seq only when the models changed in a way routing cares about
   * (or the advert is old); otherwise neighbours get the same signed advert again, which keeps
   * their routes alive without a network-wide flood of new seqs every refresh.
   */
  resignDue(models: readonly AdvertisedModel[]): boolean {
    const change = advertChange(this.#lastSignedModels, models);
    const age = this.#now() - this.#lastSignedAt;
    return change === 'models' || (change === 'load' && age >= this.timing.loadAdvertEveryMs) || age >= this.timing.maxAdvertAgeMs;
  }

  // ---- what to send when ----

  /** Something changed: whether the adapter should arm the debounce timer now (none armed, running). */
  armFlush(): boolean {
    if (this.#flushArmed || !this.#running) return false;
    this.#flushArmed = true;
    return true;
  }

  /** The debounce timer fired (or was cleared). */
  flushFired(): void {
    this.#flushArmed = false;
  }

  /** The updates for one neighbour, each with the signature that proves it (unprovable ones are not relayed). */
  updatesFor(peer: PeerIdString, full: boolean): SignedUpdate[] {
    const out: SignedUpdate[] = [];
    for (const u of this.#table.updatesFor(peer, full)) {
      const signed = this.#withProof(u);
      if (signed !== undefined) out.push(signed);
    }
    return out;
  }

  /** Updates for every neighbour with something to send. */
  flush(full: boolean): [PeerIdString, SignedUpdate[]][] {
    const out: [PeerIdString, SignedUpdate[]][] = [];
    for (const [peer] of this.peers.entries()) {
      const wire = this.updatesFor(peer, full);
      if (wire.length > 0) out.push([peer, wire]);
    }
    return out;
  }

  /** Dial hints to send with an origin's updates (ours come from the adapter). */
  hints(origin: PeerIdString): readonly string[] | undefined {
    return this.origins.hints(origin);
  }

  #withProof(u: RouteUpdate): SignedUpdate | undefined {
    const sig = this.origins.proofs.sig(u.advert.origin, u.advert.seq);
    if (sig === undefined) return undefined;
    return { signed: { advert: u.advert, sig }, metricMs: u.metricMs, hops: u.hops, retracted: u.retracted };
  }

  // ---- neighbours, strikes, liveness ----

  /** `peer` speaks the protocol: a neighbour now. Returns its state and the full dump it gets at once. */
  neighbourUp(peer: PeerIdString, rttMs: number): { state: NeighbourState; updates: SignedUpdate[] } {
    const now = this.#now();
    const state = this.peers.up(peer, rttMs, now);
    this.#table.neighbourUp(peer, rttMs, now);
    return { state, updates: this.updatesFor(peer, true) };
  }

  /** `peer` is no neighbour any more. Returns whether it was one (then the adapter closes its stream and flushes). */
  neighbourDown(peer: PeerIdString): boolean {
    if (this.peers.down(peer) === undefined) return false;
    this.origins.neighbourGone(peer);
    this.#table.neighbourDown(peer, this.#now());
    return true;
  }

  /** The connection to `peer` went: its strikes and rate are forgotten, and it is down. */
  disconnected(peer: PeerIdString): boolean {
    this.peers.disconnected(peer);
    return this.neighbourDown(peer);
  }

  strike(peer: PeerIdString): { strikes: number; hangUp: boolean } {
    return this.peers.strike(peer);
  }

  /** A liveness ping's outcome; on `hang-up` the neighbour is already down here. */
  pinged(peer: PeerIdString, state: NeighbourState, rttMs: number | undefined): PingVerdict {
    const verdict = this.peers.ping(peer, state, rttMs);
    if (verdict === 'ok' && rttMs !== undefined) this.#table.observeLink(peer, rttMs, this.#now());
    if (verdict === 'hang-up') this.neighbourDown(peer);
    return verdict;
  }

  // ---- received frames ----

  /** One advert of a frame from `peer`, in frame order (the advert-rate tokens are taken in that order). */
  screen(peer: PeerIdString, signed: SignedAdvert, canonicalBytes: number, digest: string): Screening {
    const { origin, seq } = signed.advert;
    if (origin === this.self) return { kind: 'own' };
    const why = advertViolation(signed.advert, canonicalBytes, this.limits);
    if (why !== undefined) return { kind: 'refused', why };
    if (this.origins.proofs.isVerified(origin, seq, digest)) return { kind: 'known' };
    if (!this.peers.takeAdvertToken(peer, this.#now())) return { kind: 'refused' };
    return { kind: 'verify' };
  }

  /** Apply a frame's admitted updates and dial hints from neighbour `peer`. */
  applyFrame(peer: PeerIdString, updates: readonly AdmittedUpdate[], addrs: Readonly<Record<string, readonly string[]>>): FrameOutcome {
    const now = this.#now();
    let changed = false;
    for (const { u, digest } of updates) {
      if (this.#table.applyUpdate(peer, { advert: u.signed.advert, metricMs: u.metricMs, hops: u.hops, retracted: u.retracted }, now)) changed = true;
      const origin = u.signed.advert.origin;
      // Only what the table holds needs proving (an update over its caps is not remembered).
      if (!this.#table.knows(origin)) continue;
      this.origins.remember(u.signed, digest);
      this.origins.heardFrom(origin, peer, now, !u.retracted && Number.isFinite(u.metricMs));
    }
    // An urgent change a ping's link observation made since goes out with this one.
    return { changed: changed && this.#table.takeUrgentChange(), dials: this.#hintsOf(updates, addrs, now) };
  }

  /**
   * Dial hints are unsigned: only those of origins this frame really offers a route to are
   * kept and dialled, so a neighbour cannot make us dial (or remember) arbitrary addresses.
   */
  #hintsOf(updates: readonly AdmittedUpdate[], addrs: Readonly<Record<string, readonly string[]>>, now: number): FrameOutcome['dials'] {
    const offered = new Set(updates.filter(({ u }) => !u.retracted && Number.isFinite(u.metricMs)).map(({ u }) => u.signed.advert.origin));
    const dials: { origin: PeerIdString; addrs: readonly string[] }[] = [];
    for (const [origin, all] of Object.entries(addrs)) {
      if (origin === this.self || !offered.has(origin) || !this.#table.knows(origin)) continue;
      const kept = all.slice(0, this.limits.hintAddrsPerOrigin);
      this.origins.setHints(origin, kept);
      if (!this.peers.has(origin) && this.origins.dials.take(origin, now)) dials.push({ origin, addrs: kept });
    }
    return dials;
  }

  /** A dial that applyFrame asked for ended: ok, failed, or not attempted (undefined). */
  dialEnded(origin: PeerIdString, ok: boolean | undefined): void {
    if (ok === undefined) this.origins.dials.cancel(origin);
    else this.origins.dials.done(origin, ok, this.#now());
  }

  // ---- seqno requests ----

  /** Requests due now (the table backs off repeats), grouped by the neighbour they go to. */
  seqnoRequests(): Map<PeerIdString, SeqnoRequestMsg[]> {
    return seqnoRequestsByPeer(this.#table.takeSeqnoRequests(this.#now()), this.timing.seqnoRequestHops);
  }

  onSeqnoRequests(from: PeerIdString, requests: readonly SeqnoRequestMsg[]): SeqnoReplies {
    return answerSeqnoRequests(this.#table, this.self, this.#own?.advert.seq ?? -1, from, requests, this.#now());
  }

  /** A re-sign for a seqno request: ms to wait first, or undefined when one is pending (or stopped). */
  bumpDelay(): number | undefined {
    if (!this.#running) return undefined;
    return this.#bump.request(this.#now());
  }

  bumpStarted(): void {
    this.#bump.started(this.#now());
  }

  bumpDone(): void {
    this.#bump.done();
  }

  // ---- periodic work ----

  /** Expire stale routes; whether the table changed (flush). */
  expire(): boolean {
    return this.#table.expire(this.#now());
  }

  /** The table reports the origins it forgets; this sweep only catches state about origins it never admitted. */
  sweep(): void {
    this.origins.sweep((origin) => origin === this.self || this.#table.knows(origin));
  }

  lastHeard(origin: PeerIdString, neighbour: PeerIdString): number | undefined {
    return this.origins.lastHeard(origin, neighbour);
  }

  stateSizes(): { sigs: number; sigOrigins: number; addrHints: number; heard: number; dials: number; rateBuckets: number; strikes: number } {
    return { ...this.origins.sizes, ...this.peers.sizes };
  }
}
