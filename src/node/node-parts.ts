// What a node's components share: the options and node-wide services they are built from, and
// the parts each one builds when it starts (read by the parts that depend on it, and by the
// node's accessors). src/node/node-components.ts and node-servers.ts declare the components.
import type { LocalInference, ModelInfo } from '../inference/types.ts';
import type { Logger } from '../logger.ts';
import type { NodeTrust } from './auth/node-trust.ts';
import type { ConfigWatch } from './config-watch.ts';
import type { ModelCatalog, QueryDispatcher } from './dispatch.ts';
import type { HealthService } from './grpc/health.ts';
import type { GrpcServer } from './grpc/server.ts';
import type { HttpServer } from './http/server.ts';
import type { InputBudget } from './input-limits.ts';
import type { JobService } from './jobs/service.ts';
import type { JobStore } from './jobs/store.ts';
import type { NodeMetrics } from './metrics.ts';
import type { ModelRepository } from './model-repository.ts';
import type { NodeLimits } from './node-defaults.ts';
import type { NodeOptions } from './options.ts';
import type { P2PService, P2PServiceInit } from './p2p/service.ts';
import type { NodeTracing } from './tracing/node-tracing.ts';

export interface NodeContext {
  readonly options: NodeOptions;
  readonly logger: Logger;
  readonly health: HealthService;
  readonly metrics: NodeMetrics;
  readonly limits: NodeLimits;
  readonly inputBudget: InputBudget;
  readonly startedAt: number;
  /** Use this inference instead of building one (the node closes it). */
  readonly inference?: LocalInference | undefined;
  /** Extra libp2p settings (tests). */
  readonly p2p?: Partial<P2PServiceInit> | undefined;
  /** The node's own accessors, for the dashboard. */
  readonly models: () => readonly ModelInfo[];
  readonly cluster: () => P2PService | undefined;
  readonly listenAddrs: () => readonly string[];
  readonly parts: NodeParts;
}

/** Set by the components as they start; read by those started after them. */
export interface NodeParts {
  trust?: NodeTrust;
  /** Opened first; the job service owns (and closes) it once built. */
  jobStore?: JobStore;
  jobs?: JobService;
  jobsStopped?: boolean;
  tracing?: NodeTracing;
  inference?: LocalInference;
  repository?: ModelRepository;
  /** Local dispatcher and catalog, replaced by the cluster's when p2p starts. */
  dispatcher?: QueryDispatcher;
  catalog?: ModelCatalog;
  p2p?: P2PService;
  server?: GrpcServer;
  http?: HttpServer;
  configWatch?: ConfigWatch;
  /** Bound gRPC and HTTP addresses. */
  bound?: string;
  httpBound?: string;
  peerId: string;
  /** When the stop's grace ends (epoch ms); 0 (no grace) when a failed start is undone. */
  stopDeadline: number;
}

/** What is left of the stop's grace, ms. */
export const graceLeft = (parts: NodeParts): number => Math.max(0, parts.stopDeadline - Date.now());

/** A part that must exist by now (its component is a declared dependency). */
export function need<T>(part: T | undefined, name: string): T {
  if (part === undefined) throw new Error(`node part '${name}' is not started`);
  return part;
}
