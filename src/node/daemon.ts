// The Plexus node: local inference and the libp2p cluster behind a QueryDispatcher, served
// over gRPC (KServe v2, Health, Plexus). Its parts are components (node-components.ts,
// node-servers.ts) run by one lifecycle (lifecycle.ts): start() starts them in dependency order
// (trust, job store, tracing, inference, cluster, gRPC, HTTP, config watch, job runs) and
// undoes a partial start; stop() drains: health NOT_SERVING, every part refuses new work
// (routes withdrawn so neighbours stop sending), in-flight requests finish (bounded grace), then
// the parts stop in reverse order.
import type { LocalInference, ModelInfo } from '../inference/types.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createHealthService, type HealthState } from './grpc/health.ts';
import { SERVICE_NAMES } from '../wire/protos.ts';
import { createInputBudget } from './input-limits.ts';
import { createLifecycle } from './lifecycle.ts';
import { createNodeMetrics, type NodeMetrics } from './metrics.ts';
import { DEFAULT_LIMITS } from './node-defaults.ts';
import { nodeComponents } from './node-components.ts';
import type { NodeParts } from './node-parts.ts';
import type { NodeOptions } from './options.ts';
import type { P2PService, P2PServiceInit } from './p2p/service.ts';

export interface NodeComponents {
  readonly logger?: Logger;
  /** Use this inference instead of building one from options.models (the node closes it). */
  readonly inference?: LocalInference;
  /** Extra libp2p settings (tests: short refresh, a fixed key). */
  readonly p2p?: Partial<P2PServiceInit>;
}

export interface StartedNode {
  /** Bound gRPC HOST:PORT. */
  readonly grpc: string;
  /** Bound HTTP HOST:PORT (metrics + KServe v2 REST); absent when the HTTP port is off. */
  readonly http?: string;
  /** libp2p peer id; '' without libp2p. */
  readonly peerId: string;
  /** libp2p listen multiaddrs, each ending /p2p/<peer id>; empty without libp2p. */
  readonly multiaddrs: readonly string[];
}

export interface PlexusNode {
  start(): Promise<StartedNode>;
  stop(): Promise<void>;
  /** Bound gRPC HOST:PORT; throws before start(). */
  grpcAddress(): string;
  /** Bound HTTP HOST:PORT; undefined before start() or when the HTTP port is off. */
  httpAddress(): string | undefined;
  /** This node's Prometheus registry and instruments. */
  readonly metrics: NodeMetrics;
  /** libp2p peer id; '' before start() or when the node runs without libp2p. */
  peerId(): string;
  /** libp2p listen multiaddrs (with /p2p/<peer id>); empty when not running libp2p. */
  listenAddrs(): readonly string[];
  models(): readonly ModelInfo[];
  /** The cluster side; undefined before start() or without libp2p. */
  cluster(): P2PService | undefined;
  readonly health: HealthState;
}

export function createPlexusNode(options: NodeOptions, components: NodeComponents = {}): PlexusNode {
  const logger = components.logger ?? createLogger({ level: options.logLevel, destination: 'stderr' });
  const health = createHealthService(Object.values(SERVICE_NAMES));
  const parts: NodeParts = { peerId: '', stopDeadline: 0 };
  let state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  const metrics = createNodeMetrics(options.p2p === undefined ? {} : { policy: options.p2p.routing.policy });
  metrics.setSources({ inference: () => parts.inference, connectedPeers: () => parts.p2p?.peers().length ?? 0, routes: () => parts.p2p?.routes() });
  const limits = options.limits ?? DEFAULT_LIMITS;
  const listenAddrs = (): string[] => (state === 'running' || state === 'stopping' ? parts.p2p?.multiaddrs() ?? [] : []);
  const models = (): readonly ModelInfo[] => parts.inference?.list() ?? [];
  const cluster = (): P2PService | undefined => (state === 'running' || state === 'stopping' ? parts.p2p : undefined);
  const lifecycle = createLifecycle(nodeComponents({
    options, logger, health, metrics, limits, inputBudget: createInputBudget(limits.maxInflightInputBytes, limits.maxRequestInputBytes), startedAt: performance.now(),
    inference: components.inference, p2p: components.p2p, models, cluster, listenAddrs, parts,
  }), { onError: (component, phase, err) => { logger.warn({ err, component }, `${phase} of a node part failed`); } });

  return {
    health: health.state,
    async start() {
      if (state !== 'new') throw new Error(`node cannot start: it is ${state}`);
      state = 'starting';
      try {
        await lifecycle.start();
      } catch (e) {
        state = 'stopped';
        throw e;
      }
      health.state.set('', 'SERVING');
      state = 'running';
      const grpc = parts.bound ?? '';
      const { httpBound: http, peerId } = parts;
      const multiaddrs = listenAddrs();
      logger.info({ grpc, http, peerId, multiaddrs, models: models().map((m) => m.name) }, 'node ready');
      return { grpc, ...(http === undefined ? {} : { http }), peerId, multiaddrs };
    },
    async stop() {
      if (state !== 'running') return;
      state = 'stopping';
      logger.info('node stopping: draining in-flight requests');
      parts.stopDeadline = Date.now() + options.shutdownGraceMs;
      health.state.shutdown();
      await lifecycle.stop();
      state = 'stopped';
      logger.info('node stopped');
    },
    grpcAddress() {
      if (parts.bound === undefined) throw new Error('node is not started');
      return parts.bound;
    },
    httpAddress: () => parts.httpBound,
    metrics,
    peerId: () => parts.peerId,
    listenAddrs,
    models,
    cluster,
  };
}
