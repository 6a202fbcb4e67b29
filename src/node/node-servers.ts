// The node's servers as components: gRPC (KServe v2, repository, Triton config, Plexus, Jobs,
// Health) and the optional HTTP port (metrics, REST, repository, Triton, jobs API, dashboard).
// Each drains (refuses new work) before the grace in which in-flight calls finish. The HTTP side
// (server, REST, dashboard, jobs API) loads only when the port is on: a node without it never
// holds that code.
import { createKServeService } from './grpc/kserve.ts';
import { createPlexusService, type ClusterView } from './grpc/plexus-service.ts';
import { createRepositoryHandlers } from './grpc/repository.ts';
import { createTritonConfigHandlers } from './grpc/triton-config.ts';
import { createGrpcServer } from './grpc/server.ts';
import { createJobsHandlers } from './jobs/grpc.ts';
import { JOBS_DEFAULTS } from './jobs/options.ts';
import type { Component } from './lifecycle.ts';
import { graceLeft, need, type NodeContext } from './node-parts.ts';
import type { P2POptions } from './options.ts';
import { PLEXUS_VERSION } from './version.ts';

function clusterView(ctx: NodeContext, opts: P2POptions): ClusterView {
  const { parts } = ctx;
  return {
    peers: () => parts.p2p?.peers() ?? [],
    routes: () => parts.p2p?.routes() ?? [],
    policy: opts.routing.policy,
    routeOnly: opts.noModels,
  };
}

function tritonView(ctx: NodeContext) {
  const local = need(ctx.parts.inference, 'inference');
  return { catalog: need(ctx.parts.catalog, 'catalog'), localStats: (name: string) => local.stats(name), stats: ctx.metrics.modelStats };
}

export function grpcComponent(ctx: NodeContext, dependsOn: readonly string[]): Component {
  const { options, logger, metrics, parts } = ctx;
  let drain: (() => void) | undefined;
  return {
    name: 'grpc',
    dependsOn,
    async start() {
      const t = need(parts.trust, 'trust');
      const catalog = need(parts.catalog, 'catalog');
      const repository = need(parts.repository, 'repository');
      const jobsDeadlineMs = (options.jobs ?? JOBS_DEFAULTS).defaultDeadlineMs;
      const kserve = createKServeService({
        dispatcher: metrics.instrument(t.account(need(parts.dispatcher, 'dispatcher')), catalog, 'grpc'), catalog, logger, version: PLEXUS_VERSION,
        maxStreamInFlight: options.grpc.maxStreamInFlight, ...(parts.tracing === undefined ? {} : { tracing: parts.tracing }), inputBudget: ctx.inputBudget,
      });
      drain = () => { kserve.drain(); };
      const triton = tritonView(ctx);
      const plexus = createPlexusService({
        catalog, version: PLEXUS_VERSION, startedAt: ctx.startedAt,
        identity: { peerId: () => parts.peerId, grpcAddress: () => parts.bound ?? '', listenAddrs: ctx.listenAddrs },
        ...(options.p2p === undefined ? {} : { cluster: clusterView(ctx, options.p2p) }),
      });
      const server = createGrpcServer({
        address: options.grpc.address,
        maxReceiveMessageBytes: options.grpc.maxMessageBytes,
        decodeLimits: ctx.limits,
        handlers: {
          inference: t.guard('inference', { ...kserve.handlers, ...createRepositoryHandlers({ repository, logger }), ...createTritonConfigHandlers({ view: triton, logger }) }),
          health: ctx.health.handlers,
          plexus: t.guard('plexus', plexus),
          ...(parts.jobs === undefined ? {} : { jobs: t.guard('jobs', createJobsHandlers(parts.jobs, logger, jobsDeadlineMs)) }),
        },
        logger, ...(t.grpcCredentials === undefined ? {} : { credentials: t.grpcCredentials }),
      });
      parts.server = server;
      parts.bound = await server.start();
    },
    drain() { drain?.(); },
    async stop() { await parts.server?.stop(graceLeft(parts)); },
  };
}

export function httpComponent(ctx: NodeContext, dependsOn: readonly string[]): Component {
  const { options, logger, metrics, parts } = ctx;
  return {
    name: 'http',
    dependsOn,
    async start() {
      if (options.http === undefined) return;
      const [{ createDashboardHandler }, { createRepositoryRoutes }, { createTritonRoutes }, { createHttpServer }, { createJobsApi }] = await Promise.all([
        import('./http/dashboard/handler.ts'), import('./http/repository-routes.ts'), import('./http/triton-routes.ts'), import('./http/server.ts'), import('./jobs/http.ts'),
      ]);
      const t = need(parts.trust, 'trust');
      const catalog = need(parts.catalog, 'catalog');
      const repositoryRoutes = createRepositoryRoutes({ repository: need(parts.repository, 'repository'), logger });
      const tritonRoutes = createTritonRoutes({ view: tritonView(ctx), logger });
      const jobsApi = createJobsApi(() => parts.jobs);
      const dashboard = createDashboardHandler({
        logger, peerId: () => parts.peerId, models: ctx.models, cluster: ctx.cluster,
        ...(options.p2p === undefined ? {} : { policy: options.p2p.routing.policy }), registry: () => metrics.registry,
      });
      const http = createHttpServer({
        address: options.http.address, maxBodyBytes: options.grpc.maxMessageBytes,
        dispatcher: metrics.instrument(t.account(need(parts.dispatcher, 'dispatcher')), catalog, 'http'), catalog, version: PLEXUS_VERSION, logger, scrape: () => metrics.scrape(),
        extraRoutes: (req, res) => t.httpGate(req, res) || repositoryRoutes(req, res) || tritonRoutes(req, res) || jobsApi(req, res) || dashboard(req, res),
        ...(parts.tracing === undefined ? {} : { tracing: parts.tracing }),
        limits: ctx.limits, inputLimits: ctx.limits, inputBudget: ctx.inputBudget,
        ...(t.httpsOptions === undefined ? {} : { tls: t.httpsOptions }),
      });
      parts.http = http;
      parts.httpBound = await http.start();
    },
    drain() { parts.http?.drain(); },
    async stop() { await parts.http?.stop(graceLeft(parts)); },
  };
}
