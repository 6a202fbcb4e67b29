// The parts of a node as components (src/node/lifecycle.ts), in the order they start: trust
// (refuses an exposed, unprotected node before anything loads), the job store (a corrupt one
// stops the start before models load), tracing, inference (+ the model repository), the libp2p
// cluster, the job service (on the dispatcher those built), then the servers (node-servers.ts),
// the config watch, and the job runs.
import path from 'node:path';
import { ShuttingDownError } from '../errors.ts';
import { createLocalInference } from '../inference/index.ts';
import { createNodeTrust } from './auth/node-trust.ts';
import { createClusterCatalog } from './catalog-cluster.ts';
import { createConfigWatch } from './config-watch.ts';
import { createLocalDispatcher } from './dispatch-local.ts';
import { createJobMetrics } from './jobs/metrics.ts';
import { JOBS_DEFAULTS } from './jobs/options.ts';
import { createJobService, STORE_FILE } from './jobs/service.ts';
import { jobStoreAt } from './jobs/deferred-store.ts';
import type { QueryDispatcher } from './dispatch.ts';
import type { Component } from './lifecycle.ts';
import { createModelRepository } from './model-repository.ts';
import { forwardFrameBytes } from './node-defaults.ts';
import { graceLeft, need, type NodeContext } from './node-parts.ts';
import { grpcComponent, httpComponent } from './node-servers.ts';
import type { P2POptions } from './options.ts';
import { createP2PService, type P2PServiceInit } from './p2p/service.ts';
import { loadNodeTracing } from './tracing/load.ts';
import { PLEXUS_VERSION } from './version.ts';

export function p2pInit(p2p: P2POptions, dataDir: string, maxMessageBytes: number, extra: Partial<P2PServiceInit> | undefined): P2PServiceInit {
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
    table: {
      policy: p2p.routing.policy,
      ...(p2p.routing.maxOriginsPerCapability === undefined ? {} : { maxOriginsPerCapability: p2p.routing.maxOriginsPerCapability }),
      ...extra?.table,
    },
  };
}

/** Every component of a node, given its options (absent parts are not declared). */
export function nodeComponents(ctx: NodeContext): Component[] {
  const { options } = ctx;
  const jobsOn = (options.jobs ?? JOBS_DEFAULTS).enabled;
  const withP2P = options.p2p !== undefined;
  const watchFile = options.configFile !== undefined && options.p2p?.noModels !== true;
  const optional = (on: boolean, name: string): string[] => (on ? [name] : []);
  const core = ['trust', ...optional(jobsOn, 'jobStore'), ...optional(options.tracing !== undefined, 'tracing')];
  const dispatch = [...core, 'inference', ...optional(withP2P, 'p2p')];
  const cluster = [...dispatch, ...optional(jobsOn, 'jobs')];
  return [
    trustComponent(ctx),
    ...(jobsOn ? [jobStoreComponent(ctx)] : []),
    ...(options.tracing === undefined ? [] : [tracingComponent(ctx)]),
    inferenceComponent(ctx, core),
    ...(withP2P ? [p2pComponent(ctx, [...core, 'inference'])] : []),
    ...(jobsOn ? [jobsComponent(ctx, dispatch)] : []),
    grpcComponent(ctx, cluster),
    ...(options.http === undefined ? [] : [httpComponent(ctx, cluster)]),
    ...(watchFile ? [configWatchComponent(ctx)] : []),
    ...(jobsOn ? [jobRunsComponent(ctx, ['jobs', 'grpc', ...optional(withP2P, 'p2p')])] : []),
  ];
}

function trustComponent({ options, logger, metrics, parts }: NodeContext): Component {
  return {
    name: 'trust',
    start() { parts.trust = createNodeTrust(options, { logger, registry: metrics.registry }); },
    stop() { parts.trust?.stop(); },
  };
}

function jobStoreComponent({ options, parts }: NodeContext): Component {
  return {
    name: 'jobStore',
    dependsOn: ['trust'],
    start() {
      const jobsOptions = options.jobs ?? JOBS_DEFAULTS;
      parts.jobStore = jobStoreAt(path.join(options.dataDir, STORE_FILE), jobsOptions.maxStoreBytes);
    },
    // The job service closes it when it stops; this closes it when the service was never built.
    stop() { if (parts.jobs === undefined) parts.jobStore?.close(); },
  };
}

/** The job service, built on the node's dispatcher (local or the cluster's); its runs start last (jobRuns). */
function jobsComponent({ options, logger, metrics, parts }: NodeContext, dependsOn: readonly string[]): Component {
  return {
    name: 'jobs',
    dependsOn,
    start() {
      parts.jobs = createJobService({
        dataDir: options.dataDir, options: options.jobs ?? JOBS_DEFAULTS, logger, metrics: createJobMetrics(metrics.registry),
        store: need(parts.jobStore, 'jobStore'), dispatcher: need(parts.dispatcher, 'dispatcher'),
      });
    },
    async stop() {
      if (parts.jobsStopped !== true) await parts.jobs?.stop();
      parts.jobsStopped = true;
    },
  };
}

function tracingComponent({ options, logger, parts }: NodeContext): Component {
  return {
    name: 'tracing',
    dependsOn: ['trust'],
    async start() {
      if (options.tracing === undefined) return;
      parts.tracing = await loadNodeTracing(options.tracing, { instanceId: () => parts.peerId || (parts.bound ?? ''), version: PLEXUS_VERSION, logger });
    },
    async stop() { await parts.tracing?.shutdown(); },
  };
}

function inferenceComponent(ctx: NodeContext, dependsOn: readonly string[]): Component {
  const { options, logger, metrics, parts } = ctx;
  return {
    name: 'inference',
    dependsOn,
    async start() {
      // Pipelines send their steps through the node's dispatcher, read at call time: the local one
      // until the cluster's replaces it (the dispatcher is built on this inference, hence no reference at construction).
      const steps: QueryDispatcher = {
        infer: (r) => (parts.dispatcher === undefined ? Promise.reject(new ShuttingDownError('node is not serving yet')) : parts.dispatcher.infer(r)),
      };
      const inference = ctx.inference ?? await createLocalInference({
        models: options.models, logger, ...metrics.inferenceHooks, ...(options.inference !== undefined ? { settings: options.inference } : {}), steps,
      });
      parts.inference = inference;
      parts.catalog = inference;
      parts.dispatcher = createLocalDispatcher(inference);
      // Model repository extension (gRPC + REST); relative paths in a load's config resolve like the file's.
      parts.repository = createModelRepository({
        inference, models: options.models, logger,
        baseDir: options.configFile === undefined ? process.cwd() : path.dirname(options.configFile),
        ...(options.security === undefined ? {} : { modelDirs: options.security.modelDirs }),
      });
    },
    async stop() { await parts.inference?.close(); },
  };
}

function p2pComponent(ctx: NodeContext, dependsOn: readonly string[]): Component {
  const { options, logger, metrics, parts } = ctx;
  let withdrawn: Promise<void> | undefined;
  return {
    name: 'p2p',
    dependsOn,
    async start() {
      if (options.p2p === undefined) return;
      const local = need(parts.inference, 'inference');
      const traced = parts.tracing === undefined ? {} : { tracing: parts.tracing };
      const p2p = createP2PService(p2pInit(options.p2p, options.dataDir, options.grpc.maxMessageBytes, { events: metrics.routeEvents, ...traced, ...ctx.p2p }))({ logger, local });
      await p2p.start();
      parts.p2p = p2p;
      need(parts.trust, 'trust').watchPeerLists((allow, deny) => p2p.updatePeerLists(allow, deny));
      parts.peerId = p2p.peerId();
      parts.dispatcher = p2p.dispatcher;
      parts.catalog = createClusterCatalog({ local, adverts: () => p2p.adverts(), self: () => parts.peerId });
    },
    // Neighbours stop routing through us while our own callers finish.
    drain() { withdrawn = parts.p2p?.withdraw().catch((e: unknown) => { logger.warn({ err: e }, 'route withdrawal failed'); }); },
    async stop() {
      await withdrawn;
      await parts.p2p?.stop(graceLeft(parts));
    },
  };
}

function configWatchComponent({ options, logger, parts }: NodeContext): Component {
  let stopped: Promise<void> | undefined;
  return {
    name: 'configWatch',
    dependsOn: ['inference'],
    start() {
      if (options.configFile === undefined) return;
      parts.configWatch = createConfigWatch({ file: options.configFile, repository: need(parts.repository, 'repository'), logger, only: options.only });
      parts.configWatch.start();
    },
    // No more config edits; one being applied finishes before inference closes.
    drain() { stopped = parts.configWatch?.stop(); },
    async stop() { await (stopped ?? parts.configWatch?.stop()); },
  };
}

function jobRunsComponent({ options, parts }: NodeContext, dependsOn: readonly string[]): Component {
  return {
    name: 'jobRuns',
    dependsOn,
    start() {
      // Unfinished jobs resume once the cluster has shown us some route (a restarted entry
      // node knows none at first), or after a few seconds (src/node/jobs/service.ts).
      const bootstraps = (options.p2p?.bootstrap.length ?? 0) > 0;
      parts.jobs?.start(() => !bootstraps || (parts.p2p?.routes().some((r) => !r.local) ?? true));
    },
    // Tries in flight are aborted unrecorded: they stay PENDING and run again after a restart.
    async drain() {
      if (parts.jobsStopped !== true) await parts.jobs?.stop();
      parts.jobsStopped = true;
    },
    stop() { /* drained */ },
  };
}
