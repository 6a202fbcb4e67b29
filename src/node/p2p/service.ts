// The libp2p side of a node, as one service: host + routes protocol + forward protocol +
// routing table + the routed dispatcher, advertising what the local inference engine hosts.
// The daemon composes it: createP2PService(init)({ logger, local }).
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { ShuttingDownError } from '../../errors.ts';
import type { InferRequest, InferResult, LocalInference, TensorSpec } from '../../inference/types.ts';
import type { Logger } from '../../logger.ts';
import { Reputation, type PeerTrust } from '../../routing/reputation.ts';
import { DEFAULT_PEER_LIMITS, type PeerLimits } from '../../routing/peer-limits.ts';
import { createRoutingTable } from '../../routing/table.ts';
import type { RoutingTable } from '../../routing/table.ts';
import type { AdvertisedModel, AdvertisedTensor, ProviderAdvert, RoutingTableApi } from '../../routing/types.ts';
import type { P2PService, P2PServiceComponents, P2PServiceInit, PeerView, RouteView } from './service-types.ts';
import { createRoutedDispatcher } from '../dispatch-routed.ts';
import type { RoutedDispatcher } from '../dispatch-routed.ts';
import type { QueryDispatcher } from '../dispatch.ts';
import { DEFAULT_REFRESH_MS } from '../node-defaults.ts';
import { createTryGuard } from '../verify/guard.ts';
import { DEFAULT_VERIFY_RATE } from '../verify/verifier.ts';
import { createForwardProtocol } from './forward-protocol.ts';
import type { ForwardHandler, ForwardProtocol } from './forward-protocol.ts';
import { createHost } from './host.ts';
import type { HostInit, P2PHost } from './host.ts';
import { loadOrCreatePeerKey } from './identity.ts';
import { watchLocalModels } from './local-watch.ts';
import { createMembership, type Membership } from './membership.ts';
import { createRoutesProtocol } from './routes-protocol.ts';
import type { RoutesProtocol } from './routes-protocol.ts';

export type { P2PService, P2PServiceComponents, P2PServiceInit, PeerView, RouteView } from './service-types.ts';

function advertTensor(t: TensorSpec): AdvertisedTensor {
  return { name: t.name, datatype: t.datatype, shape: [...t.shape] };
}

/** What the local engine hosts, as an advert (ready models only). */
export function localAdvertModels(local: LocalInference): AdvertisedModel[] {
  return local.list().filter((m) => m.ready).map((m) => {
    const s = local.stats(m.name);
    return {
      name: m.name, version: m.version, capabilities: m.capabilities, provider: m.provider, price: m.price,
      computeMs: s?.computeMs ?? 0, load: s === undefined ? 0 : s.inFlight + s.queued, capacity: s === undefined ? 1 : s.maxConcurrent + s.maxQueue,
      concurrency: Math.max(1, s?.maxConcurrent ?? 1),
      io: { platform: m.platform, inputs: m.inputs.map(advertTensor), outputs: m.outputs.map(advertTensor) },
    };
  });
}

/** The host's settings from the service's, with membership's gater, protector and allow-list. */
function hostInit(init: P2PServiceInit, privateKey: PrivateKey, logger: Logger, m: Membership): HostInit {
  return {
    privateKey, logger, connectionGater: m.connectionGater, protectedPeers: (peer) => m.allowListed(peer),
    ...(m.connectionProtector === undefined ? {} : { connectionProtector: m.connectionProtector }),
    ...(init.listen === undefined ? {} : { listen: init.listen }),
    ...(init.bootstrap === undefined ? {} : { bootstrap: init.bootstrap }),
    ...(init.static === undefined ? {} : { static: init.static }),
    ...(init.maxConnections === undefined ? {} : { maxConnections: init.maxConnections }),
    ...(init.connections === undefined ? {} : { connections: init.connections }),
  };
}

/** What routing holds before the host exists (the host reads who is in use and each neighbour's links from it). */
interface RoutingState {
  readonly table: RoutingTable;
  readonly reputation: Reputation;
  /** Neighbours that forwarded us a query, and when they last did. */
  readonly forwarders: Map<string, number>;
  /** Table providers and next hops, and neighbours that forwarded a query within holdMs. */
  readonly peersInUse: () => ReadonlySet<string>;
}

/** The parts built on the host: forward and routes protocols, routed dispatcher. */
interface Parts {
  readonly forward: ForwardProtocol;
  readonly routed: RoutedDispatcher;
  readonly routes: RoutesProtocol;
}

class P2PServiceImpl implements P2PService {
  readonly #init: P2PServiceInit;
  readonly #log: Logger;
  readonly #local: LocalInference;
  readonly #refreshMs: number;
  readonly #holdMs: number;
  readonly #limits: PeerLimits;
  #host: P2PHost | undefined;
  #routes: RoutesProtocol | undefined;
  #forward: ForwardProtocol | undefined;
  #table: RoutingTable | undefined;
  #routed: RoutedDispatcher | undefined;
  #unsubscribe: (() => void) | undefined;
  #membership: Membership | undefined;
  #trust: Reputation | undefined;

  readonly dispatcher: QueryDispatcher = {
    infer: (req: InferRequest): Promise<InferResult> => {
      if (this.#routed === undefined) return Promise.reject(new ShuttingDownError('the p2p service is not running'));
      return this.#routed.infer(req);
    },
  };

  constructor(init: P2PServiceInit, components: P2PServiceComponents) {
    this.#init = init;
    this.#log = components.logger;
    this.#local = components.local;
    this.#refreshMs = init.refreshMs ?? DEFAULT_REFRESH_MS;
    this.#holdMs = init.table?.holdMs ?? this.#refreshMs * 3;
    this.#limits = init.limits ?? DEFAULT_PEER_LIMITS;
  }

  async start(): Promise<void> {
    if (this.#host !== undefined) throw new Error('the p2p service is already started');
    const init = this.#init;
    const log = this.#log;
    const key = init.privateKey ?? await loadOrCreatePeerKey(init.dataDir);
    const m = createMembership(init.members, log);
    const routing = this.#routing(peerIdFromPrivateKey(key).toString());
    const t = routing.table;
    const h = await createHost({ ...hostInit(init, key, log, m), peersInUse: routing.peersInUse, neighbourLinks: (now) => t.neighbourLinks(now) });
    const { forward: f, routed: d, routes: r } = this.#build(h, key, routing);
    this.#trust = routing.reputation;
    this.#host = h; this.#table = t; this.#routed = d; this.#forward = f; this.#routes = r; this.#membership = m;
    m.attach({ connectedPeers: () => h.connectedPeers(), hangUp: async (p) => { await h.libp2p.hangUp(peerIdFromString(p)); } });
    try {
      await h.start();
      await f.start();
      await r.start();
    } catch (e) {
      // E.g. the listen port is taken: release what did start.
      await r.stop().catch(() => undefined);
      await f.stop().catch(() => undefined);
      await h.stop().catch(() => undefined);
      this.#host = undefined; this.#routes = undefined; this.#forward = undefined; this.#routed = undefined; this.#table = undefined;
      throw e;
    }
    // Re-advertise when the local models change in a way routing cares about (advertChange), on the engine's events.
    this.#unsubscribe = watchLocalModels(this.#local, () => { r.localChanged(); });
    log.info({ peerId: h.peerId, addrs: h.multiaddrs() }, 'p2p started');
  }

  #routing(self: string): RoutingState {
    const init = this.#init;
    const holdMs = this.#holdMs;
    const limits = this.#limits;
    const reputation = new Reputation(init.reputation);
    const table = createRoutingTable(self, { maxOrigins: limits.maxOrigins, maxOriginsPerNeighbour: limits.maxOriginsPerNeighbour, ...init.table, holdMs, trust: reputation });
    const forwarders = new Map<string, number>();
    return {
      table, reputation, forwarders,
      peersInUse: () => {
        const inUse = table.peersInUse();
        const now = Date.now();
        for (const [p, at] of forwarders) if (now - at > holdMs) forwarders.delete(p); else inUse.add(p);
        return inUse;
      },
    };
  }

  #build(h: P2PHost, key: PrivateKey, routing: RoutingState): Parts {
    const init = this.#init;
    const log = this.#log;
    const local = this.#local;
    const limits = this.#limits;
    const { table: t, reputation, forwarders } = routing;
    // A measured path floor that changes a selection goes out as a triggered update at once.
    const reconsider = (origin: string, now: number): boolean => {
      const changed = t.reconsider(origin, now);
      if (changed) this.#routes?.tableChanged();
      return changed;
    };
    const guard = createTryGuard({ self: h.peerId, key, reputation, table: { markDown: (p, until) => { t.markDown(p, until); }, reconsider } });
    const tracing = init.tracing;
    // The dispatcher forwards through the protocol it is built with; the protocol hands it
    // the queries neighbours send (onQuery), so neither needs a late-bound reference.
    const f = createForwardProtocol({
      host: h, logger: log,
      ...(init.maxForwardFrameBytes === undefined ? {} : { maxFrameBytes: init.maxForwardFrameBytes }),
      ...(tracing === undefined ? {} : { onReplied: (req, at, err) => { tracing.replied(req, at, err); } }),
    });
    const d = createRoutedDispatcher({
      table: t, local, forward: f, logger: log, ...(init.maxAttempts === undefined ? {} : { maxAttempts: init.maxAttempts }),
      ...(init.events === undefined ? {} : { events: init.events }), guard,
      verify: {
        reputation, rate: init.verify?.rate ?? DEFAULT_VERIFY_RATE, ...(init.verify?.tolerances === undefined ? {} : { tolerances: init.verify.tolerances }),
        onVerification: (e) => { init.events?.verification?.(e); },
      },
    });
    const handler: ForwardHandler = (req, signal) => {
      // Neighbours that forward us queries are in use (their connection carries traffic).
      const from = req.route.at(-1);
      if (from !== undefined && t.linkCost(from, Date.now()) !== undefined) forwarders.set(from, Date.now());
      return d.handleForwarded(req, signal);
    };
    f.onQuery(tracing?.forwardHandler(handler) ?? handler);
    const models = (): AdvertisedModel[] => (init.noModels === true ? [] : localAdvertModels(local));
    const r = createRoutesProtocol({ host: h, table: t, privateKey: key, logger: log, localModels: models, refreshMs: this.#refreshMs, limits, ...(init.pingEveryMs === undefined ? {} : { pingEveryMs: init.pingEveryMs }) });
    return { forward: f, routed: d, routes: r };
  }

  async withdraw(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#routes?.stop();
  }

  async stop(graceMs = 0): Promise<void> {
    const h = this.#host;
    if (h === undefined) return;
    await this.withdraw();
    const until = Date.now() + graceMs;
    while ((this.#forward?.inFlight() ?? 0) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await this.#forward?.stop();
    await h.stop();
    this.#host = undefined; this.#routes = undefined; this.#forward = undefined; this.#routed = undefined;
    this.#log.info('p2p stopped');
  }

  peerId(): string {
    return started(this.#host).peerId;
  }

  multiaddrs(): string[] {
    return started(this.#host).multiaddrs();
  }

  peers(): PeerView[] {
    const h = this.#host;
    if (h === undefined) return [];
    const n = new Map((this.#routes?.neighbours() ?? []).map((x) => [x.peer, x.rttMs]));
    const now = Date.now();
    return h.connectedPeers().map((p) => ({
      peerId: p, neighbour: n.has(p), rttMs: n.get(p), trust: this.#trust?.view(p, now).state ?? 'ok',
      addrs: h.libp2p.getConnections().filter((c) => c.remotePeer.toString() === p).map((c) => c.remoteAddr.toString()),
    }));
  }

  routes(): RouteView[] {
    const t = this.#table;
    if (t === undefined) return [];
    const now = Date.now();
    const adverts = new Map(t.adverts().map((a) => [a.origin, a]));
    return t.snapshot(now).map((c) => {
      const advert = adverts.get(c.origin);
      const local = c.origin === t.self;
      const heardAt = local ? undefined : this.#routes?.lastHeard(c.origin, c.nextHop);
      return {
        ...c,
        capabilities: advert?.models.find((m) => m.name === c.model && m.version === c.version)?.capabilities ?? [],
        seq: advert?.seq ?? 0,
        expiresAt: heardAt === undefined ? undefined : heardAt + this.#holdMs,
        local,
        trust: local ? 'ok' : this.#trust?.view(c.origin, now).state ?? 'ok',
      };
    });
  }

  adverts(): readonly ProviderAdvert[] {
    return this.#table?.adverts() ?? [];
  }

  table(): RoutingTableApi {
    return started(this.#table);
  }

  updatePeerLists(allow: readonly string[], deny: readonly string[]): Promise<string[]> {
    return this.#membership?.update(allow, deny) ?? Promise.resolve([]);
  }

  trust(): readonly PeerTrust[] {
    return this.#trust?.views(Date.now()) ?? [];
  }

  peerState(): ReturnType<P2PService['peerState']> {
    const t = this.#table;
    const r = this.#routes;
    return t === undefined || r === undefined ? undefined : { table: t.stateSizes(), routes: r.stateSizes() };
  }
}

function started<T>(x: T | undefined): T {
  if (x === undefined) throw new ShuttingDownError('the p2p service is not running');
  return x;
}

export function createP2PService(init: P2PServiceInit) {
  return (components: P2PServiceComponents): P2PService => new P2PServiceImpl(init, components);
}
