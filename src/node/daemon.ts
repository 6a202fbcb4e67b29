// The Plexus node: local inference behind a QueryDispatcher, served over gRPC (KServe v2,
// Health, Plexus). start() loads models then binds; stop() drains: health NOT_SERVING first,
// refuse new work, let in-flight requests finish (bounded grace), then close inference.
import { createLocalInference } from '../inference/index.ts';
import type { LocalInference, ModelInfo } from '../inference/types.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createLocalDispatcher } from './dispatch-local.ts';
import type { ModelCatalog, QueryDispatcher } from './dispatch.ts';
import { createHealthService, type HealthState } from './grpc/health.ts';
import { createKServeService } from './grpc/kserve.ts';
import { createPlexusService } from './grpc/plexus-service.ts';
import { SERVICE_NAMES } from './grpc/protos.ts';
import { createGrpcServer, type GrpcServer } from './grpc/server.ts';
import type { NodeOptions } from './options.ts';
import { PLEXUS_VERSION } from './version.ts';

export interface NodeComponents {
  readonly logger?: Logger;
  /** Use this inference instead of building one from options.models (the node closes it). */
  readonly inference?: LocalInference;
}

export interface StartedNode {
  /** Bound gRPC HOST:PORT. */
  readonly grpc: string;
}

export interface PlexusNode {
  start(): Promise<StartedNode>;
  stop(): Promise<void>;
  /** Bound gRPC HOST:PORT; throws before start(). */
  grpcAddress(): string;
  /** '' until libp2p is wired in. */
  peerId(): string;
  models(): readonly ModelInfo[];
  readonly health: HealthState;
}

export function createPlexusNode(options: NodeOptions, components: NodeComponents = {}): PlexusNode {
  const logger = components.logger ?? createLogger({ level: options.logLevel, destination: 'stderr' });
  const health = createHealthService(Object.values(SERVICE_NAMES));
  let inference: LocalInference | undefined;
  let server: GrpcServer | undefined;
  let drain: (() => void) | undefined;
  let bound: string | undefined;
  let state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  const startedAt = performance.now();

  const node: PlexusNode = {
    health: health.state,
    async start() {
      if (state !== 'new') throw new Error(`node cannot start: it is ${state}`);
      state = 'starting';
      try {
        inference = components.inference ?? await createLocalInference({ models: options.models, logger });
        const catalog: ModelCatalog = inference;
        const dispatcher: QueryDispatcher = createLocalDispatcher(inference);
        const kserve = createKServeService({
          dispatcher, catalog, logger, version: PLEXUS_VERSION, maxStreamInFlight: options.grpc.maxStreamInFlight,
        });
        drain = () => kserve.drain();
        const plexus = createPlexusService({
          catalog, version: PLEXUS_VERSION, startedAt,
          identity: { peerId: () => '', grpcAddress: () => bound ?? '', listenAddrs: () => [] },
        });
        server = createGrpcServer({
          address: options.grpc.address,
          maxReceiveMessageBytes: options.grpc.maxMessageBytes,
          handlers: { inference: kserve.handlers, health: health.handlers, plexus },
          logger,
        });
        bound = await server.start();
      } catch (e) {
        state = 'stopped';
        await inference?.close();
        throw e;
      }
      health.state.set('', 'SERVING');
      state = 'running';
      logger.info({ grpc: bound, models: inference.list().map((m) => m.name) }, 'node ready');
      return { grpc: bound };
    },
    async stop() {
      if (state !== 'running') return;
      state = 'stopping';
      logger.info('node stopping: draining in-flight requests');
      health.state.shutdown();
      drain?.();
      await server?.stop(options.shutdownGraceMs);
      await inference?.close();
      state = 'stopped';
      logger.info('node stopped');
    },
    grpcAddress() {
      if (bound === undefined) throw new Error('node is not started');
      return bound;
    },
    peerId: () => '',
    models: () => inference?.list() ?? [],
  };
  return node;
}
