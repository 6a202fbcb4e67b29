// The libp2p side of a node, as one service: host + routes protocol + forward protocol +
// routing table + the routed dispatcher, advertising what the local inference engine hosts.
// The daemon composes it: createP2PService(init)({ logger, local }).
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { ShuttingDownError } from '../../errors.ts';
import type { InferRequest, InferResult, LocalInference, TensorSpec } from '../../inference/types.ts';
import type { Logger } from '../../logger.ts';
import { Reputation, type PeerTrust, type ReputationOptions } from '../../routing/reputation.ts';
import { DEFAULT_PEER_LIMITS, type PeerLimits } from '../../routing/peer-limits.ts';
import { createRoutingTable } from '../../routing/table.ts';
import type { RoutingTable, RoutingTableOptions } from '../../routing/table.ts';
import type { AdvertisedModel, AdvertisedTensor, ProviderAdvert, RouteCandidate, RoutingTableApi } from '../../routing/types.ts';
import { createRoutedDispatcher } from '../dispatch-routed.ts';
import type { RoutedDispatcher } from '../dispatch-routed.ts';
import type { QueryDispatcher } from '../dispatch.ts';
import type { RoutedDispatcherEvents } from '../route-events.ts';
import type { NodeTracing } from '../tracing/node-tracing.ts';
import { createTryGuard } from '../verify/guard.ts';
import { DEFAULT_VERIFY_RATE } from '../verify/verifier.ts';
import type { ConnectionLimits } from './conn-policy.ts';
import { createForwardProtocol } from './forward-protocol.ts';
import type { ForwardHandler, ForwardProtocol } from './forward-protocol.ts';
import { createHost } from './host.ts';
import type { P2PHost } from './host.ts';
import { loadOrCreatePeerKey } from './identity.ts';
import { createMembership, type Membership } from './membership.ts';
import type { MembershipOptions } from '../auth/options.ts';
import { createRoutesProtocol } from './routes-protocol.ts';
import type { RoutesProtocol } from './routes-protocol.ts';

export interface P2PServiceInit {
  /** Holds the identity key (<dataDir>/peer-key). Ignored when privateKey is given. */
  readonly dataDir: string;
  readonly privateKey?: PrivateKey;
  readonly listen?: readonly string[];
  readonly bootstrap?: readonly string[];
  readonly static?: boolean;
  /** Route only: advertise no local models (still forwards). */
  readonly noModels?: boolean;
  readonly maxConnections?: number;
  /** Connection limits (per IP, per peer, reserve, eviction); default DEFAULT_CONNECTION_LIMITS. */
  readonly connections?: Partial<ConnectionLimits>;
  /** Full-dump and re-sign period; routes expire after holdMs (default 3 refreshes). */
  readonly refreshMs?: number;
  /** RTT and liveness ping period per neighbour (default 5 s; two missed pings hang up). */
  readonly pingEveryMs?: number;
  readonly table?: RoutingTableOptions;
  /** Bounds on peer state and traffic (frames, adverts, origins, dial hints); default DEFAULT_PEER_LIMITS. */
  readonly limits?: PeerLimits;
  readonly maxAttempts?: number;
  /** Observer of route tries (metrics), passed to the routed dispatcher. */
  readonly events?: RoutedDispatcherEvents;
  /** Tracing: a span per forwarded query, parented by its frame's traceparent; absent when off. */
  readonly tracing?: NodeTracing;
  /** Swarm key and peer allow/deny lists (src/node/p2p/membership.ts). */
  readonly members?: MembershipOptions;
  /** Answer re-execution (node.verify): sample rate and float tolerances per model. */
  readonly verify?: { readonly rate: number; readonly tolerances?: Readonly<Record<string, number>> };
  /** Back-off and quarantine periods (tests shorten them). */
  readonly reputation?: ReputationOptions;
}

export interface P2PServiceComponents {
  readonly logger: Logger;
  readonly local: LocalInference;
}

export interface PeerView {
  readonly peerId: string;
  readonly neighbour: boolean;
  readonly rttMs: number | undefined;
  readonly addrs: readonly string[];
  /** This node's view of the peer: ok, demoted or quarantined. */
  readonly trust?: PeerTrust['state'];
}

/** A route with everything GetRoutes shows: metric parts, advert seqno and expiry. */
export interface RouteView extends RouteCandidate {
  /** The model's capabilities, as its origin advertises them. */
  readonly capabilities: readonly string[];
  /** Seqno of the origin's advert this route carries. */
  readonly seq: number;
  /** When the route expires unless refreshed, epoch ms; undefined for local models. */
  readonly expiresAt: number | undefined;
  readonly local: boolean;
  /** The provider's standing in this node's view: ok, demoted (back-off) or quarantined (wrong answers). */
  readonly trust: PeerTrust['state'];
}

export interface P2PService {
  start(): Promise<void>;
  /** Send our withdrawal to every neighbour and stop route exchange; forwarding keeps working. */
  withdraw(): Promise<void>;
  /**
   * Withdraw (if not yet), let queries from neighbours finish for up to graceMs, then close
   * every connection.
   */
  stop(graceMs?: number): Promise<void>;
  /** Throws before start(). */
  peerId(): string;
  multiaddrs(): string[];
  /** Routes queries through the cluster; usable once started. */
  readonly dispatcher: QueryDispatcher;
  peers(): readonly PeerView[];
  routes(): readonly RouteView[];
  adverts(): readonly ProviderAdvert[];
  /** Raw table, for tests and the bench. */
  table(): RoutingTableApi;
  /** Replace the peer allow/deny lists; hangs up on newly refused peers and returns them. */
  updatePeerLists(allow: readonly string[], deny: readonly string[]): Promise<string[]>;
  /** This node's view of its peers' honesty (measured times, demotions, quarantines). */
  trust(): readonly PeerTrust[];
  /** Sizes of the per-origin and per-peer state kept by the routing table and the routes protocol (bounds checks). */
  peerState(): { readonly table: ReturnType<RoutingTable['stateSizes']>; readonly routes: ReturnType<RoutesProtocol['stateSizes']> } | undefined;
}

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

export function createP2PService(init: P2PServiceInit) {
  return (components: P2PServiceComponents): P2PService => {
    const { logger: log, local } = components;
    const refreshMs = init.refreshMs ?? 1000;
    const holdMs = init.table?.holdMs ?? refreshMs * 3;
    let host: P2PHost | undefined;
    let routes: RoutesProtocol | undefined;
    let forward: ForwardProtocol | undefined;
    let table: RoutingTable | undefined;
    let routed: RoutedDispatcher | undefined;
    let watch: NodeJS.Timeout | undefined;
    let unsubscribe: (() => void) | undefined;
    let membership: Membership | undefined;
    let trustRef: Reputation | undefined;

    const models = (): AdvertisedModel[] => (init.noModels === true ? [] : localAdvertModels(local));

    const started = <T>(x: T | undefined): T => {
      if (x === undefined) throw new ShuttingDownError('the p2p service is not running');
      return x;
    };

    async function withdraw(): Promise<void> {
      if (watch !== undefined) clearInterval(watch);
      watch = undefined;
      unsubscribe?.();
      unsubscribe = undefined;
      await routes?.stop();
    }

    return {
      async start() {
        if (host !== undefined) throw new Error('the p2p service is already started');
        const key = init.privateKey ?? await loadOrCreatePeerKey(init.dataDir);
        const m = createMembership(init.members, log);
        const h = await createHost({
          privateKey: key, logger: log, connectionGater: m.connectionGater, protectedPeers: (peer) => m.allowListed(peer),
          ...(m.connectionProtector === undefined ? {} : { connectionProtector: m.connectionProtector }),
          ...(init.listen === undefined ? {} : { listen: init.listen }),
          ...(init.bootstrap === undefined ? {} : { bootstrap: init.bootstrap }),
          ...(init.static === undefined ? {} : { static: init.static }),
          ...(init.maxConnections === undefined ? {} : { maxConnections: init.maxConnections }),
          ...(init.connections === undefined ? {} : { connections: init.connections }),
        });
        const limits = init.limits ?? DEFAULT_PEER_LIMITS;
        const reputation = new Reputation(init.reputation);
        const t = createRoutingTable(h.peerId, { maxOrigins: limits.maxOrigins, maxOriginsPerNeighbour: limits.maxOriginsPerNeighbour, ...init.table, holdMs, trust: reputation });
        trustRef = reputation;
        // A measured path floor that changes a selection goes out as a triggered update at once.
        const reconsider = (origin: string, now: number): boolean => {
          const changed = t.reconsider(origin, now);
          if (changed) routes?.tableChanged();
          return changed;
        };
        const guard = createTryGuard({ self: h.peerId, key, reputation, table: { markDown: (p, until) => { t.markDown(p, until); }, reconsider } });
        // Neighbours that sent us queries lately are in use too (their connection carries traffic).
        const forwarders = new Map<string, number>();
        h.setPeersInUse(() => {
          const inUse = t.peersInUse();
          const now = Date.now();
          for (const [p, at] of forwarders) if (now - at > holdMs) forwarders.delete(p); else inUse.add(p);
          return inUse;
        });
        const fwdRef: { send: ForwardProtocol['send'] } = { send: (peer, req, signal) => started(forward).send(peer, req, signal) };
        const d = createRoutedDispatcher({
          table: t, local, forward: fwdRef, logger: log, ...(init.maxAttempts === undefined ? {} : { maxAttempts: init.maxAttempts }),
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
        const tracing = init.tracing;
        const f = createForwardProtocol({
          host: h, logger: log, handler: tracing?.forwardHandler(handler) ?? handler,
          ...(tracing === undefined ? {} : { onReplied: (req, at, err) => { tracing.replied(req, at, err); } }),
        });
        const r = createRoutesProtocol({ host: h, table: t, privateKey: key, logger: log, localModels: models, refreshMs, limits, ...(init.pingEveryMs === undefined ? {} : { pingEveryMs: init.pingEveryMs }) });
        host = h; table = t; routed = d; forward = f; routes = r; membership = m;
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
          host = undefined; routes = undefined; forward = undefined; routed = undefined; table = undefined;
          throw e;
        }
        // Load and compute time move all the time: look every 100 ms, and re-advertise before the
        // next refresh when they moved enough to matter (the rule lives in advertChange).
        // Only while a model is hosted: a node with none has no load to watch (10 wake-ups a
        // second per idle router otherwise; the idle bench scenario).
        const syncWatch = (): void => {
          const want = models().length > 0;
          if (want && watch === undefined) { watch = setInterval(() => { r.localChanged(); }, 100); watch.unref(); }
          if (!want && watch !== undefined) { clearInterval(watch); watch = undefined; }
        };
        syncWatch();
        // A model loaded or unloaded: re-advertise now rather than at the next poll.
        unsubscribe = local.onChange(() => { syncWatch(); r.localChanged(); });
        log.info({ peerId: h.peerId, addrs: h.multiaddrs() }, 'p2p started');
      },
      withdraw,
      async stop(graceMs = 0) {
        const h = host;
        if (h === undefined) return;
        await withdraw();
        const until = Date.now() + graceMs;
        while ((forward?.inFlight() ?? 0) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        await forward?.stop();
        await h.stop();
        host = undefined; routes = undefined; forward = undefined; routed = undefined;
        log.info('p2p stopped');
      },
      peerId: () => started(host).peerId,
      multiaddrs: () => started(host).multiaddrs(),
      dispatcher: {
        infer: (req: InferRequest): Promise<InferResult> => {
          if (routed === undefined) return Promise.reject(new ShuttingDownError('the p2p service is not running'));
          return routed.infer(req);
        },
      },
      peers() {
        const h = host;
        if (h === undefined) return [];
        const n = new Map((routes?.neighbours() ?? []).map((x) => [x.peer, x.rttMs]));
        const now = Date.now();
        return h.connectedPeers().map((p) => ({
          peerId: p, neighbour: n.has(p), rttMs: n.get(p), trust: trustRef?.view(p, now).state ?? 'ok',
          addrs: h.libp2p.getConnections().filter((c) => c.remotePeer.toString() === p).map((c) => c.remoteAddr.toString()),
        }));
      },
      routes(): RouteView[] {
        const t = table;
        if (t === undefined) return [];
        const now = Date.now();
        const adverts = new Map(t.adverts().map((a) => [a.origin, a]));
        return t.snapshot(now).map((c) => {
          const advert = adverts.get(c.origin);
          const local = c.origin === t.self;
          const heardAt = local ? undefined : routes?.lastHeard(c.origin, c.nextHop);
          return {
            ...c,
            capabilities: advert?.models.find((m) => m.name === c.model && m.version === c.version)?.capabilities ?? [],
            seq: advert?.seq ?? 0,
            expiresAt: heardAt === undefined ? undefined : heardAt + holdMs,
            local,
            trust: local ? 'ok' : trustRef?.view(c.origin, now).state ?? 'ok',
          };
        });
      },
      adverts: () => table?.adverts() ?? [],
      table: () => started(table),
      updatePeerLists: (allow, deny) => membership?.update(allow, deny) ?? Promise.resolve([]),
      trust: () => trustRef?.views(Date.now()) ?? [],
      peerState: () => (table === undefined || routes === undefined ? undefined : { table: table.stateSizes(), routes: routes.stateSizes() }),
    };
  };
}
