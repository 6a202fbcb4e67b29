// The Plexus node: local inference and the libp2p cluster behind a QueryDispatcher, served
// over gRPC (KServe v2, Health, Plexus). start() loads models, joins the cluster, then binds
// gRPC. stop() drains: health NOT_SERVING, refuse new work, withdraw our routes so
// neighbours stop sending, let in-flight requests finish (bounded grace), then leave the
// cluster and close inference.
import path from 'node:path';
import { createLocalInference } from '../inference/index.ts';
import type { LocalInference, ModelInfo } from '../inference/types.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createNodeTrust, type NodeTrust } from './auth/node-trust.ts';
import { createClusterCatalog } from './catalog-cluster.ts';
import { createConfigWatch, type ConfigWatch } from './config-watch.ts';
import { createLocalDispatcher } from './dispatch-local.ts';
import type { ModelCatalog, QueryDispatcher } from './dispatch.ts';
import { createHealthService, type HealthState } from './grpc/health.ts';
import { createKServeService } from './grpc/kserve.ts';
import { createPlexusService, type ClusterView } from './grpc/plexus-service.ts';
import { createRepositoryHandlers } from './grpc/repository.ts';
import { createTritonConfigHandlers } from './grpc/triton-config.ts';
import { SERVICE_NAMES } from './grpc/protos.ts';
import { createGrpcServer, type GrpcServer } from './grpc/server.ts';
import { createDashboardHandler } from './http/dashboard/handler.ts';
import { createRepositoryRoutes } from './http/repository-routes.ts';
import { createTritonRoutes } from './http/triton-routes.ts';
import { createHttpServer, type HttpServer } from './http/server.ts';
import { createNodeMetrics, type NodeMetrics } from './metrics.ts';
import { createJobsHandlers } from './jobs/grpc.ts';
import { createJobsApi } from './jobs/http.ts';
import { createJobMetrics } from './jobs/metrics.ts';
import { JOBS_DEFAULTS } from './jobs/options.ts';
import { createJobService, type JobService } from './jobs/service.ts';
import { createModelRepository } from './model-repository.ts';
import { createInputBudget } from './input-limits.ts';
import { forwardFrameBytes } from './node-defaults.ts';
import { DEFAULT_LIMITS, type NodeOptions, type P2POptions } from './options.ts';
import { createP2PService, type P2PService, type P2PServiceInit } from './p2p/service.ts';
import { loadNodeTracing } from './tracing/load.ts';
import type { NodeTracing } from './tracing/node-tracing.ts';
import { PLEXUS_VERSION } from './version.ts';

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

function p2pInit(p2p: P2POptions, dataDir: string, maxMessageBytes: number, extra: Partial<P2PServiceInit> | undefined): P2PServiceInit {
  return {
    dataDir,
    // One limit: a request this node accepts fits the frame that forwards it.
    maxForwardFrameBytes: forwardFrameBytes(maxMessageBytes),
    listen: p2p.listen,
    bootstrap: p2p.bootstrap,
    static: p2p.static,
    noModels: p2p.noModels,
    refreshMs: p2p.routing.refreshMs,
    ...(p2p.members === undefined ? {} : { members: p2p.members }),
    ...(p2p.verify === undefined ? {} : { verify: p2p.verify }),
    ...(p2p.limits === undefined ? {} : { limits: p2p.limits }),
    ...(p2p.connections === undefined ? {} : { connections: p2p.connections }),
    ...extra,
    table: { policy: p2p.routing.policy, ...extra?.table },
  };
}

export function createPlexusNode(options: NodeOptions, components: NodeComponents = {}): PlexusNode {
  const logger = components.logger ?? createLogger({ level: options.logLevel, destination: 'stderr' });
  const health = createHealthService(Object.values(SERVICE_NAMES));
  let inference: LocalInference | undefined;
  let p2p: P2PService | undefined;
  let server: GrpcServer | undefined;
  let http: HttpServer | undefined;
  let httpBound: string | undefined;
  let drain: (() => void) | undefined;
  let configWatch: ConfigWatch | undefined;
  let trust: NodeTrust | undefined;
  let jobs: JobService | undefined;
  const jobsOptions = options.jobs ?? JOBS_DEFAULTS;
  let bound: string | undefined;
  let peerId = '';
  let state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  const startedAt = performance.now();
  const clusterView = (opts: P2POptions): ClusterView => ({
    peers: () => p2p?.peers() ?? [],
    routes: () => p2p?.routes() ?? [],
    policy: opts.routing.policy,
    routeOnly: opts.noModels,
  });
  const metrics = createNodeMetrics(options.p2p === undefined ? {} : { policy: options.p2p.routing.policy });
  metrics.setSources({ inference: () => inference, connectedPeers: () => p2p?.peers().length ?? 0, routes: () => p2p?.routes() });
  const limits = options.limits ?? DEFAULT_LIMITS;
  const inputBudget = createInputBudget(limits.maxInflightInputBytes);
  const listenAddrs = (): string[] => (state === 'running' || state === 'stopping' ? p2p?.multiaddrs() ?? [] : []);
  // Only with an OTLP endpoint (set in start()): without it no request ever holds a span.
  let tracing: NodeTracing | undefined;

  const node: PlexusNode = {
    health: health.state,
    async start() {
      if (state !== 'new') throw new Error(`node cannot start: it is ${state}`);
      state = 'starting';
      try {
        // First: an exposed, unprotected node or an unreadable key/token/cert file fails here.
        const t = createNodeTrust(options, { logger, registry: metrics.registry });
        trust = t;
        // Then the job store: a corrupt or unwritable one stops the start before anything loads.
        const jobDispatch: { current?: QueryDispatcher } = {};
        if (jobsOptions.enabled) {
          jobs = createJobService({
            dataDir: options.dataDir, options: jobsOptions, logger, metrics: createJobMetrics(metrics.registry),
            dispatcher: { infer: (r) => (jobDispatch.current === undefined ? Promise.reject(new Error('job dispatcher not ready')) : jobDispatch.current.infer(r)) },
          });
        }
        if (options.tracing !== undefined) {
          tracing = await loadNodeTracing(options.tracing, { instanceId: () => peerId || (bound ?? ''), version: PLEXUS_VERSION, logger });
        }
        const traced = tracing === undefined ? {} : { tracing };
        inference = components.inference ?? await createLocalInference({
          models: options.models, logger, ...metrics.inferenceHooks, ...(options.inference !== undefined ? { settings: options.inference } : {}),
        });
        let catalog: ModelCatalog = inference;
        let dispatcher: QueryDispatcher = createLocalDispatcher(inference);
        if (options.p2p !== undefined) {
          p2p = createP2PService(p2pInit(options.p2p, options.dataDir, options.grpc.maxMessageBytes, { events: metrics.routeEvents, ...traced, ...components.p2p }))({ logger, local: inference });
          await p2p.start();
          const peers = p2p;
          t.watchPeerLists((allow, deny) => peers.updatePeerLists(allow, deny));
          peerId = p2p.peerId();
          dispatcher = p2p.dispatcher;
          const cluster = p2p;
          catalog = createClusterCatalog({ local: inference, adverts: () => cluster.adverts(), self: () => peerId });
        }
        jobDispatch.current = dispatcher;
        const kserve = createKServeService({
          dispatcher: metrics.instrument(t.account(dispatcher), catalog, 'grpc'), catalog, logger, version: PLEXUS_VERSION, maxStreamInFlight: options.grpc.maxStreamInFlight,
          ...traced, inputBudget,
        });
        drain = () => kserve.drain();
        // Model repository extension (gRPC + REST); relative paths in a load's config resolve like the file's.
        const repository = createModelRepository({
          inference, models: options.models, logger,
          baseDir: options.configFile === undefined ? process.cwd() : path.dirname(options.configFile),
          ...(options.security === undefined ? {} : { modelDirs: options.security.modelDirs }),
        });
        const repositoryRoutes = createRepositoryRoutes({ repository, logger });
        const local = inference;
        const triton = { catalog, localStats: (name: string) => local.stats(name), stats: metrics.modelStats };
        const tritonRoutes = createTritonRoutes({ view: triton, logger });
        const plexus = createPlexusService({
          catalog, version: PLEXUS_VERSION, startedAt,
          identity: { peerId: () => peerId, grpcAddress: () => bound ?? '', listenAddrs },
          ...(options.p2p === undefined ? {} : { cluster: clusterView(options.p2p) }),
        });
        server = createGrpcServer({
          address: options.grpc.address,
          maxReceiveMessageBytes: options.grpc.maxMessageBytes,
          decodeLimits: limits,
          handlers: {
            inference: t.guard('inference', { ...kserve.handlers, ...createRepositoryHandlers({ repository, logger }), ...createTritonConfigHandlers({ view: triton, logger }) }),
            health: health.handlers,
            plexus: t.guard('plexus', plexus),
            ...(jobs === undefined ? {} : { jobs: t.guard('jobs', createJobsHandlers(jobs, logger, jobsOptions.defaultDeadlineMs)) }),
          },
          logger, ...(t.grpcCredentials === undefined ? {} : { credentials: t.grpcCredentials }),
        });
        bound = await server.start();
        if (options.http !== undefined) {
          const jobsApi = createJobsApi(() => jobs);
          const dashboard = createDashboardHandler({
            logger, peerId: () => peerId, models: () => node.models(), cluster: () => node.cluster(),
            ...(options.p2p === undefined ? {} : { policy: options.p2p.routing.policy }), registry: () => metrics.registry,
          });
          http = createHttpServer({
            address: options.http.address, maxBodyBytes: options.grpc.maxMessageBytes,
            dispatcher: metrics.instrument(t.account(dispatcher), catalog, 'http'), catalog, version: PLEXUS_VERSION, logger, scrape: () => metrics.scrape(),
            extraRoutes: (req, res) => t.httpGate(req, res) || repositoryRoutes(req, res) || tritonRoutes(req, res) || jobsApi(req, res) || dashboard(req, res), ...traced,
            limits, inputLimits: limits, inputBudget,
            ...(t.httpsOptions === undefined ? {} : { tls: t.httpsOptions }),
          });
          httpBound = await http.start();
        }
        // A pure router loads nothing, whatever the file says.
        if (options.configFile !== undefined && options.p2p?.noModels !== true) {
          configWatch = createConfigWatch({ file: options.configFile, repository, logger });
          configWatch.start();
        }
        // Unfinished jobs resume once the cluster has shown us some route (a restarted entry
        // node knows none at first), or after a few seconds (src/node/jobs/service.ts).
        const bootstraps = (options.p2p?.bootstrap.length ?? 0) > 0;
        jobs?.start(() => !bootstraps || (p2p?.routes().some((r) => !r.local) ?? true));
      } catch (e) {
        state = 'stopped';
        await jobs?.stop();
        await configWatch?.stop();
        await server?.stop(0);
        await p2p?.stop();
        await inference?.close();
        await tracing?.shutdown();
        trust?.stop();
        throw e;
      }
      health.state.set('', 'SERVING');
      state = 'running';
      const multiaddrs = listenAddrs();
      logger.info({ grpc: bound, http: httpBound, peerId, multiaddrs, models: inference.list().map((m) => m.name) }, 'node ready');
      return { grpc: bound, ...(httpBound === undefined ? {} : { http: httpBound }), peerId, multiaddrs };
    },
    async stop() {
      if (state !== 'running') return;
      state = 'stopping';
      logger.info('node stopping: draining in-flight requests');
      const deadline = Date.now() + options.shutdownGraceMs;
      health.state.shutdown();
      drain?.();
      // Tries in flight are aborted unrecorded: they stay PENDING and run again after a restart.
      await jobs?.stop();
      // No more config edits; one being applied finishes before inference closes.
      const watchStopped = configWatch?.stop();
      http?.drain();
      // Neighbours stop routing through us while our own callers finish.
      const withdrawn = p2p?.withdraw().catch((e: unknown) => { logger.warn({ err: e }, 'route withdrawal failed'); });
      await Promise.all([server?.stop(options.shutdownGraceMs), http?.stop(options.shutdownGraceMs)]);
      await withdrawn;
      await p2p?.stop(Math.max(0, deadline - Date.now()));
      await watchStopped;
      await inference?.close();
      await tracing?.shutdown();
      trust?.stop();
      state = 'stopped';
      logger.info('node stopped');
    },
    grpcAddress() {
      if (bound === undefined) throw new Error('node is not started');
      return bound;
    },
    httpAddress: () => httpBound,
    metrics,
    peerId: () => peerId,
    listenAddrs,
    models: () => inference?.list() ?? [],
    cluster: () => (state === 'running' || state === 'stopping' ? p2p : undefined),
  };
  return node;
}
