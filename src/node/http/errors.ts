// The ONE place that maps PlexusError kinds to HTTP status codes (the REST twin of
// src/wire/status.ts). Anything that is not a PlexusError is a bug on our side: 500.
import { isPlexusError, type ErrorKind } from '../../errors.ts';

const KIND_TO_HTTP: Readonly<Record<ErrorKind, number>> = {
  invalid_argument: 400,
  not_found: 404,
  failed_precondition: 412,
  resource_exhausted: 429,
  deadline_exceeded: 504,
  unavailable: 503,
  // nginx's "client closed request": the caller left, nobody reads this answer.
  cancelled: 499,
  internal: 500,
  unimplemented: 501,
  unauthenticated: 401,
  permission_denied: 403,
};

export function httpStatusForKind(kind: ErrorKind): number {
  return KIND_TO_HTTP[kind];
}

/** HTTP status and the message of the {"error": ...} body for any thrown value. */
export function toHttpError(error: unknown): { readonly status: number; readonly message: string } {
  if (isPlexusError(error)) return { status: httpStatusForKind(error.kind), message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, message: `internal error: ${message}` };
}

/** A request body over the configured limit: HTTP 413, answered by the server itself. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}
