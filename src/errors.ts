// One error class per condition, each with a stable `name` and a transport-neutral `kind`.
// The gRPC adapter (src/wire/status.ts) maps kinds to status codes; the forwarding
// protocol carries `kind` + message across hops so a remote failure keeps its meaning.

export type ErrorKind =
  | 'invalid_argument'
  | 'not_found'
  | 'failed_precondition'
  | 'resource_exhausted'
  | 'deadline_exceeded'
  | 'unavailable'
  | 'cancelled'
  | 'internal'
  | 'unimplemented'
  | 'unauthenticated'
  | 'permission_denied';

export const ERROR_KINDS: readonly ErrorKind[] = [
  'invalid_argument', 'not_found', 'failed_precondition', 'resource_exhausted',
  'deadline_exceeded', 'unavailable', 'cancelled', 'internal', 'unimplemented', 'unauthenticated', 'permission_denied',
];

export abstract class PlexusError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A request field, tensor name, dtype, shape or byte length is wrong. */
export class InvalidInputError extends PlexusError {
  override readonly name = 'InvalidInputError';
  readonly kind = 'invalid_argument';
}

/** Nothing by this model or capability name exists (locally, or anywhere in the cluster). */
export class ModelNotFoundError extends PlexusError {
  override readonly name = 'ModelNotFoundError';
  readonly kind = 'not_found';
  readonly model: string;
  constructor(model: string, message = `model or capability '${model}' is not served here`) {
    super(message);
    this.model = model;
  }
}

/** The model exists but is not ready (loading, unloading, failed). */
export class ModelNotReadyError extends PlexusError {
  override readonly name = 'ModelNotReadyError';
  readonly kind = 'unavailable';
}

/** A load or unload conflicts with the model's state: already loaded, being loaded, or used by adapters. */
export class ModelInUseError extends PlexusError {
  override readonly name = 'ModelInUseError';
  readonly kind = 'failed_precondition';
}

/** A message, tensor or frame is larger than the configured limit. */
export class MessageTooLargeError extends PlexusError {
  override readonly name = 'MessageTooLargeError';
  readonly kind = 'resource_exhausted';
}

/** A request exceeds a per-request input limit (elements, BYTES elements, tensors, parameters): the same request never fits. */
export class InputLimitError extends PlexusError {
  override readonly name = 'InputLimitError';
  readonly kind = 'invalid_argument';
}

/** One request's inputs hold more bytes than one request may (limits.maxRequestInputBytes): the same request never fits. */
export class RequestInputBudgetError extends PlexusError {
  override readonly name = 'RequestInputBudgetError';
  readonly kind = 'resource_exhausted';
}

/** The node's budget for the inputs of accepted, unanswered requests is spent: retry later or elsewhere. */
export class InputBudgetError extends PlexusError {
  override readonly name = 'InputBudgetError';
  readonly kind = 'resource_exhausted';
}

/** A client message is not valid protobuf (truncated, bad wire type, a length past the end). */
export class MalformedMessageError extends PlexusError {
  override readonly name = 'MalformedMessageError';
  readonly kind = 'invalid_argument';
}

/** A model's queue is full: the caller should back off or go elsewhere. */
export class QueueFullError extends PlexusError {
  override readonly name = 'QueueFullError';
  readonly kind = 'resource_exhausted';
}

/** Routes exist, but none satisfies the caller's constraints (cost, provider, hops, peer). */
export class NoFeasibleRouteError extends PlexusError {
  override readonly name = 'NoFeasibleRouteError';
  readonly kind = 'failed_precondition';
}

/** The deadline passed, or cannot be met by any route. */
export class DeadlineExceededError extends PlexusError {
  override readonly name = 'DeadlineExceededError';
  readonly kind = 'deadline_exceeded';
}

/** A peer (next hop or provider) could not be reached or died mid-query. */
export class PeerUnavailableError extends PlexusError {
  override readonly name = 'PeerUnavailableError';
  readonly kind = 'unavailable';
}

/** A peer sent something that is not a valid frame of our protocol. */
export class ProtocolError extends PlexusError {
  override readonly name = 'ProtocolError';
  readonly kind = 'invalid_argument';
}

/** The node is shutting down and accepts no new work. */
export class ShuttingDownError extends PlexusError {
  override readonly name = 'ShuttingDownError';
  readonly kind = 'unavailable';
}

/** The caller cancelled. */
export class CancelledError extends PlexusError {
  override readonly name = 'CancelledError';
  readonly kind = 'cancelled';
}

/** A configured fault (testing feature, like Envoy's fault filter) fired. */
export class InjectedFaultError extends PlexusError {
  override readonly name = 'InjectedFaultError';
  readonly kind = 'unavailable';
}

/** ONNX Runtime or an adapter failed on input that passed validation. */
export class InferenceFailedError extends PlexusError {
  override readonly name = 'InferenceFailedError';
  readonly kind = 'internal';
}

/** Invalid user configuration: names the bad field. Raised before any port is bound. */
export class ConfigError extends PlexusError {
  override readonly name = 'ConfigError';
  readonly kind = 'invalid_argument';
}

/** The caller sent no token, or one the tokens file does not know. */
export class UnauthenticatedError extends PlexusError {
  override readonly name = 'UnauthenticatedError';
  readonly kind = 'unauthenticated';
}

/** The caller's role may not make this call (a query token on an admin call, a path outside the model directories). */
export class PermissionDeniedError extends PlexusError {
  override readonly name = 'PermissionDeniedError';
  readonly kind = 'permission_denied';
}

/** A tenant is over its cost budget or request rate; the message says when it resets. */
export class BudgetExceededError extends PlexusError {
  override readonly name = 'BudgetExceededError';
  readonly kind = 'resource_exhausted';
}

/** No job by this id exists on this node (never submitted here, deleted, or expired). */
export class JobNotFoundError extends PlexusError {
  override readonly name = 'JobNotFoundError';
  readonly kind = 'not_found';
}

/** AddItems on a job that takes no more items (it was closed with last = true, or has ended). */
export class JobClosedError extends PlexusError {
  override readonly name = 'JobClosedError';
  readonly kind = 'failed_precondition';
}

/** Storing a submission would take the job store past its configured size bound. */
export class JobStoreFullError extends PlexusError {
  override readonly name = 'JobStoreFullError';
  readonly kind = 'resource_exhausted';
}

/** The job store cannot be opened or written (corrupt file, unwritable directory): the node does not start. */
export class JobStoreError extends PlexusError {
  override readonly name = 'JobStoreError';
  readonly kind = 'failed_precondition';
}

/** An error that crossed the wire from another peer, kept with its kind. */
export class RemoteError extends PlexusError {
  override readonly name = 'RemoteError';
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export function isPlexusError(e: unknown): e is PlexusError {
  return e instanceof PlexusError;
}

/** plexus.verify=true and the answers could not be cross-checked, or no two of them agree. */
export class VerificationFailedError extends PlexusError {
  override readonly name = 'VerificationFailedError';
  readonly kind = 'unavailable';
}

/** A provider's answer came without a valid signature of the provider (a forged plexus.served_by): a peer fault. */
export class ForgedAnswerError extends PlexusError {
  override readonly name = 'ForgedAnswerError';
  readonly kind = 'unavailable';
}

/** A pipeline's step was routed back into a pipeline already running on the query (or nesting went too deep). */
export class PipelineLoopError extends PlexusError {
  override readonly name = 'PipelineLoopError';
  readonly kind = 'failed_precondition';
}
