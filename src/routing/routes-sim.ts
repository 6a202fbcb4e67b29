// Drives RoutesCore instances (the routes protocol's decisions, src/routing/routes-core.ts)
// over a small topology with no sockets, like simulator.ts drives bare tables: one round =
// one link delay; frames and seqno requests sent in a round arrive at the start of the next.
// Signatures are stand-ins (the core does not verify; the adapter does), everything else is
// the protocol's own logic: screening, feasibility, seqno requests, forwarding and re-signs.
import type { PeerLimits } from './peer-limits.ts';
import { RoutesCore } from './routes-core.ts';
import type { SeqnoRequestMsg, SignedUpdate } from './routes-messages.ts';
import { routesTiming } from './routes-timing.ts';
import { RoutingTable, type RoutingTableOptions } from './table.ts';
import type { AdvertisedModel, PeerIdString } from './types.ts';

type Message =
  | { readonly kind: 'updates'; readonly from: PeerIdString; readonly to: PeerIdString; readonly updates: readonly SignedUpdate[] }
  | { readonly kind: 'requests'; readonly from: PeerIdString; readonly to: PeerIdString; readonly requests: readonly SeqnoRequestMsg[] };

export interface CoreSimNode {
  readonly core: RoutesCore;
  readonly table: RoutingTable;
  models: readonly AdvertisedModel[];
}

export class CoreSimulation {
  now = 1_000_000;
  readonly nodes = new Map<PeerIdString, CoreSimNode>();
  /** Seqno requests delivered, as [from, to, request] (tests follow their hops). */
  readonly requestLog: [PeerIdString, PeerIdString, SeqnoRequestMsg][] = [];
  readonly #links = new Set<string>();
  #inbox: Message[] = [];
  readonly #roundMs: number;

  constructor(opts: { readonly roundMs?: number; readonly table?: RoutingTableOptions; readonly limits?: PeerLimits } = {}, ids: readonly PeerIdString[] = []) {
    this.#roundMs = opts.roundMs ?? 10;
    for (const id of ids) {
      const table = new RoutingTable(id, opts.table);
      const core = new RoutesCore({ self: id, table, limits: opts.limits, timing: routesTiming(), clock: () => this.now });
      core.start();
      this.nodes.set(id, { core, table, models: [] });
    }
  }

  node(id: PeerIdString): CoreSimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new RangeError(`no node ${id}`);
    return n;
  }

  /** Sign `models` as `id`'s advert (a new seq). */
  advertise(id: PeerIdString, models: readonly AdvertisedModel[]): void {
    const n = this.node(id);
    n.models = models;
    const advert = n.core.newAdvert(models);
    n.core.signed(models, { advert, sig: new Uint8Array([advert.seq % 256]) }, 0, `${id}/${advert.seq}`);
  }

  /** Both sides become neighbours with this RTT; each sends the other its full dump. */
  linkUp(a: PeerIdString, b: PeerIdString, rttMs: number): void {
    this.#links.add(key(a, b));
    this.#send(a, b, this.node(a).core.neighbourUp(b, rttMs).updates);
    this.#send(b, a, this.node(b).core.neighbourUp(a, rttMs).updates);
  }

  linkDown(a: PeerIdString, b: PeerIdString): void {
    this.#links.delete(key(a, b));
    this.node(a).core.neighbourDown(b);
    this.node(b).core.neighbourDown(a);
  }

  /** One round: deliver, then every node flushes what changed and sends the seqno requests due. */
  step(): number {
    this.now += this.#roundMs;
    const inbox = this.#inbox;
    this.#inbox = [];
    for (const m of inbox) if (this.#links.has(key(m.from, m.to))) this.#deliver(m);
    for (const [id, n] of this.nodes) {
      n.core.expire();
      for (const [peer, updates] of n.core.flush(false)) this.#send(id, peer, updates);
      for (const [peer, requests] of n.core.seqnoRequests()) this.#inbox.push({ kind: 'requests', from: id, to: peer, requests });
    }
    return this.#inbox.length;
  }

  /** Step until nothing is in flight (or maxRounds); the rounds it took. */
  run(maxRounds = 100): number {
    for (let k = 1; k <= maxRounds; k++) if (this.step() === 0) return k;
    return maxRounds;
  }

  #send(from: PeerIdString, to: PeerIdString, updates: readonly SignedUpdate[]): void {
    if (updates.length > 0) this.#inbox.push({ kind: 'updates', from, to, updates });
  }

  #deliver(m: Message): void {
    const n = this.node(m.to);
    if (m.kind === 'requests') {
      for (const q of m.requests) this.requestLog.push([m.from, m.to, q]);
      const replies = n.core.onSeqnoRequests(m.from, m.requests);
      if (replies.bump) this.advertise(m.to, n.models);
      for (const { to, req } of replies.forward) this.#inbox.push({ kind: 'requests', from: m.to, to, requests: [req] });
      return;
    }
    const admitted = [];
    for (const u of m.updates) {
      const digest = `${u.signed.advert.origin}/${u.signed.advert.seq}`;
      const s = n.core.screen(m.from, u.signed, 0, digest);
      if (s.kind === 'known' || s.kind === 'verify') admitted.push({ u, digest });
    }
    n.core.applyFrame(m.from, admitted, {});
  }
}

const key = (a: PeerIdString, b: PeerIdString): string => (a < b ? `${a}|${b}` : `${b}|${a}`);
