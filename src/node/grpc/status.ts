// The ONE place that maps PlexusError kinds to gRPC status codes. Anything that is not a
// PlexusError is a bug on our side: INTERNAL with its message, never UNKNOWN.
import * as grpc from '@grpc/grpc-js';
import { isPlexusError, type ErrorKind } from '../../errors.ts';

const KIND_TO_STATUS: Readonly<Record<ErrorKind, grpc.status>> = {
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  not_found: grpc.status.NOT_FOUND,
  failed_precondition: grpc.status.FAILED_PRECONDITION,
  resource_exhausted: grpc.status.RESOURCE_EXHAUSTED,
  deadline_exceeded: grpc.status.DEADLINE_EXCEEDED,
  unavailable: grpc.status.UNAVAILABLE,
  cancelled: grpc.status.CANCELLED,
  internal: grpc.status.INTERNAL,
  unimplemented: grpc.status.UNIMPLEMENTED,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  permission_denied: grpc.status.PERMISSION_DENIED,
};

export function statusForKind(kind: ErrorKind): grpc.status {
  return KIND_TO_STATUS[kind];
}

/** A grpc-js error object (code + details) for any thrown value. */
export function toServiceError(error: unknown): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
  if (isPlexusError(error)) {
    return { code: statusForKind(error.kind), details: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: grpc.status.INTERNAL, details: `internal error: ${message}` };
}

/** The text a ModelStreamInfer error_message carries: status name, then message. */
export function streamErrorMessage(error: unknown): string {
  const { code, details } = toServiceError(error);
  return `${statusName(code)}: ${details}`;
}

/** `NOT_FOUND` for 5, etc.; `UNKNOWN(<n>)` for a code grpc-js does not name. */
export function statusName(code: number): string {
  const name = (grpc.status as unknown as Record<number, string | undefined>)[code];
  return name ?? `UNKNOWN(${code})`;
}
