// The dashboard's read-only JSON: what this node sees of the cluster (peers with link RTT, the
// routing table with every metric part, local models) and cumulative per-capability counters
// read from the node's Prometheus registry. Counters stay cumulative so the server keeps no
// per-viewer state; the page turns two polls into rates. Every list is capped so a large
// cluster cannot make one answer unbounded.
import type { Registry } from 'prom-client';
import type { ModelInfo } from '../../inference/types.ts';
import type { PeerTrust } from '../../routing/reputation.ts';
import type { PeerView, RouteView } from '../p2p/service.ts';
import { byCodeUnit } from '../order.ts';

export const MAX_API_PEERS = 1000;
export const MAX_API_ROUTES = 2000;
export const MAX_API_MODELS = 500;
/** Distinct capability series in /api/stats (label values are bounded by the catalog anyway). */
export const MAX_STATS_SERIES = 200;

export interface ClusterSource {
  peers(): readonly PeerView[];
  routes(): readonly RouteView[];
  /** This node's view of its peers' honesty (issue 9); absent on sources that do not judge. */
  trust?(): readonly PeerTrust[];
}

export interface ClusterApiDeps {
  /** libp2p peer id; '' without libp2p. */
  peerId(): string;
  models(): readonly ModelInfo[];
  /** Undefined before start or when the node runs without libp2p. */
  cluster(): ClusterSource | undefined;
  /** The node's routing policy (latency/cost/balanced), when it routes. */
  readonly policy?: string;
  /** The node's metrics; /api/stats answers with no series without it. */
  registry?(): Registry | undefined;
}

export interface ClusterSnapshot {
  readonly at: number;
  readonly self: string;
  readonly policy: string | null;
  readonly peers: readonly { peerId: string; neighbour: boolean; rttMs: number | null; addrs: readonly string[]; trust: string }[];
  /** Peers this node has judged: measured answer times, demotions (back-off) and quarantines. */
  readonly trust: readonly PeerTrust[];
  readonly routes: readonly ApiRoute[];
  readonly models: readonly { name: string; version: string; capabilities: readonly string[]; ready: boolean; price: number; inputs: readonly ApiTensor[] }[];
  /** True when a list was cut at its cap. */
  readonly truncated: boolean;
}

export interface ApiTensor { readonly name: string; readonly datatype: string; readonly shape: readonly number[] }

export interface ApiRoute {
  readonly model: string;
  readonly version: string;
  readonly capabilities: readonly string[];
  readonly origin: string;
  readonly nextHop: string;
  readonly hops: number;
  readonly pathMs: number;
  readonly computeMs: number;
  readonly queueMs: number;
  readonly expectedMs: number;
  readonly price: number;
  readonly provider: string;
  readonly seq: number;
  readonly expiresAt: number | null;
  readonly local: boolean;
  /** The origin's standing here: ok, demoted or quarantined (its routes ignored). */
  readonly trust: string;
}

export interface StatsSeries {
  /** Model or capability the callers asked for (the requests' `model` label). */
  readonly model: string;
  readonly requests: number;
  readonly errors: number;
  readonly latencySumS: number;
  readonly latencyCount: number;
}

export interface StatsSnapshot {
  readonly at: number;
  readonly series: readonly StatsSeries[];
}

/** JSON has no Infinity/NaN: an unreachable or unknown figure goes out as null. */
const finite = (n: number | undefined): number | null => (n !== undefined && Number.isFinite(n) ? n : null);

function apiRoute(r: RouteView): ApiRoute {
  return {
    model: r.model, version: r.version, capabilities: r.capabilities, origin: r.origin, nextHop: r.nextHop, hops: r.hops,
    pathMs: finite(r.pathLatencyMs) ?? -1, computeMs: finite(r.computeMs) ?? -1, queueMs: finite(r.queueWaitMs) ?? -1,
    expectedMs: finite(r.expectedMs) ?? -1, price: r.price, provider: r.provider, seq: r.seq,
    expiresAt: finite(r.expiresAt), local: r.local, trust: r.trust,
  };
}

export function clusterSnapshot(deps: ClusterApiDeps, now = Date.now()): ClusterSnapshot {
  const cluster = deps.cluster();
  const peers = cluster?.peers() ?? [];
  const routes = cluster?.routes() ?? [];
  const models = deps.models();
  return {
    at: now,
    self: deps.peerId(),
    policy: deps.policy ?? null,
    peers: peers.slice(0, MAX_API_PEERS).map((p) => ({ peerId: p.peerId, neighbour: p.neighbour, rttMs: finite(p.rttMs), addrs: p.addrs.slice(0, 4), trust: p.trust ?? 'ok' })),
    trust: (cluster?.trust?.() ?? []).slice(0, MAX_API_PEERS),
    routes: routes.slice(0, MAX_API_ROUTES).map(apiRoute),
    models: models.slice(0, MAX_API_MODELS).map((m) => ({
      name: m.name, version: m.version, capabilities: m.capabilities, ready: m.ready, price: m.price,
      inputs: m.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
    })),
    truncated: peers.length > MAX_API_PEERS || routes.length > MAX_API_ROUTES || models.length > MAX_API_MODELS,
  };
}

type Sums = { requests: number; errors: number; latencySumS: number; latencyCount: number };

/** Per-model totals of plexus_requests_total and plexus_request_duration_seconds (all APIs). */
export async function statsSnapshot(registry: Registry | undefined, now = Date.now()): Promise<StatsSnapshot> {
  const byModel = new Map<string, Sums>();
  const sums = (model: string): Sums | undefined => {
    let s = byModel.get(model);
    if (s === undefined) {
      if (byModel.size >= MAX_STATS_SERIES) return undefined;
      s = { requests: 0, errors: 0, latencySumS: 0, latencyCount: 0 };
      byModel.set(model, s);
    }
    return s;
  };
  const requests = await registry?.getSingleMetric('plexus_requests_total')?.get();
  for (const v of requests?.values ?? []) {
    const s = sums(String(v.labels.model ?? ''));
    if (s === undefined) continue;
    s.requests += v.value;
    if (v.labels.code !== 'OK') s.errors += v.value;
  }
  const duration = await registry?.getSingleMetric('plexus_request_duration_seconds')?.get();
  for (const v of (duration?.values ?? []) as readonly { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[]) {
    const s = sums(String(v.labels.model ?? ''));
    if (s === undefined) continue;
    if (v.metricName?.endsWith('_sum') === true) s.latencySumS += v.value;
    else if (v.metricName?.endsWith('_count') === true) s.latencyCount += v.value;
  }
  return { at: now, series: [...byModel].map(([model, s]) => ({ model, ...s })).sort((a, b) => byCodeUnit(a.model, b.model)) };
}
