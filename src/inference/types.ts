// The internal, transport-neutral form of a query. gRPC (KServe v2), REST and the libp2p
// forwarding protocol all convert to and from these types; nothing here imports a transport.
import type { BatchStats } from './batch-stats.ts';
import type { ModelSpec } from './config.ts';
import type { TraceSpan } from '../trace.ts';
import type { ExecutionProvider, Params, Tensor, TensorSpec } from '../wire/types.ts';
export type { DataType, ExecutionProvider, ParamValue, Params, Tensor, TensorData } from '../wire/types.ts';

export type { TensorSpec } from '../wire/types.ts';

export interface InferRequest {
  /** A concrete model name or a capability name. */
  readonly model: string;
  readonly version?: string;
  readonly id: string;
  readonly inputs: readonly Tensor[];
  /** Requested outputs; empty means all. */
  readonly outputs: readonly string[];
  readonly parameters: Params;
  /** Absolute deadline, epoch milliseconds; undefined means none. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /** The query's span on this node (queue wait, batch, compute nest under it); absent when tracing is off. */
  readonly trace?: TraceSpan;
  /** The authenticated caller's tenant (tokens file), carried to next hops for accounting. */
  readonly tenant?: string;
}

export interface InferResult {
  readonly model: string;
  readonly version: string;
  readonly id: string;
  readonly outputs: readonly Tensor[];
  readonly parameters: Params;
}

export interface ModelInfo {
  readonly name: string;
  readonly version: string;
  /** 'onnxruntime_onnx' for raw models, 'plexus_adapter' for capability adapters. */
  readonly platform: string;
  readonly capabilities: readonly string[];
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Provider the model was asked for in config. */
  readonly requestedProvider: ExecutionProvider;
  /** Provider the session really runs on, after any fallback. */
  readonly provider: ExecutionProvider;
  /** Price per call, in cost units. */
  readonly price: number;
  readonly ready: boolean;
}

export interface ModelLoadStats {
  readonly name: string;
  /** EWMA of compute time per call, ms. */
  readonly computeMs: number;
  readonly inFlight: number;
  readonly queued: number;
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  /**
   * Dynamic batching counters, present when the model batches. inFlight counts run slots (a
   * batch holds one); queued counts requests.
   */
  readonly batching?: BatchStats;
}

/** Runs queries on models hosted by this node. */
export interface LocalInference {
  /** Every hosted model and adapter. */
  list(): readonly ModelInfo[];
  /** Resolve a model name or capability name to a hosted model; undefined if none. */
  resolve(nameOrCapability: string, version?: string): ModelInfo | undefined;
  stats(name: string): ModelLoadStats | undefined;
  /** Throws PlexusError subclasses (ModelNotFoundError, InvalidInputError, QueueFullError, ...). */
  infer(request: InferRequest): Promise<InferResult>;
  /**
   * Load a model at run time: a raw model gets its ORT session, an adapter runs on its (loaded)
   * raw model. ModelInUseError when the name is already loaded or being loaded.
   */
  load(spec: ModelSpec): Promise<ModelInfo>;
  /**
   * Unload by exact model name: new queries get NOT_FOUND at once, in-flight ones finish, then
   * the session is released. A raw model that adapters run on is refused (ModelInUseError)
   * unless `dependents` is set, which unloads those adapters first.
   */
  unload(name: string, opts?: UnloadOptions): Promise<void>;
  /** Called (synchronously) whenever the list of models changes; returns an unsubscribe. */
  onChange(listener: () => void): () => void;
  /** Called (synchronously) when a run starts or ends, so load and compute time may have moved; returns an unsubscribe. */
  onActivity(listener: () => void): () => void;
  /** Stop accepting work, wait for in-flight runs, release sessions. */
  close(): Promise<void>;
}

export interface UnloadOptions {
  /** Also unload the adapters that run on this raw model (else such an unload is refused). */
  readonly dependents?: boolean;
}
