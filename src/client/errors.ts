// Every failure the client reports is a PlexusClientError carrying the gRPC status: `code`
// (the number), `codeName` ('NOT_FOUND') and `kind` (the node's transport-neutral name for
// it, as in src/errors.ts), so callers can branch without parsing messages.
import * as grpc from '@grpc/grpc-js';
import type { ErrorKind } from '../errors.ts';
import { statusName } from '../node/grpc/status.ts';

/** The node's error kinds plus what only a client sees (a status with no Plexus meaning). */
export type ClientErrorKind = ErrorKind | 'unknown';

const STATUS_TO_KIND: Readonly<Partial<Record<number, ErrorKind>>> = {
  [grpc.status.INVALID_ARGUMENT]: 'invalid_argument',
  [grpc.status.NOT_FOUND]: 'not_found',
  [grpc.status.FAILED_PRECONDITION]: 'failed_precondition',
  [grpc.status.RESOURCE_EXHAUSTED]: 'resource_exhausted',
  [grpc.status.DEADLINE_EXCEEDED]: 'deadline_exceeded',
  [grpc.status.UNAVAILABLE]: 'unavailable',
  [grpc.status.CANCELLED]: 'cancelled',
  [grpc.status.INTERNAL]: 'internal',
  [grpc.status.UNIMPLEMENTED]: 'unimplemented',
  [grpc.status.UNAUTHENTICATED]: 'unauthenticated',
  [grpc.status.PERMISSION_DENIED]: 'permission_denied',
};

export class PlexusClientError extends Error {
  override readonly name = 'PlexusClientError';
  /** gRPC status code (grpc.status), e.g. 5 for NOT_FOUND. */
  readonly code: number;
  /** The status's name, e.g. 'NOT_FOUND'. */
  readonly codeName: string;
  readonly kind: ClientErrorKind;
  /** The node's message, without the status prefix. */
  readonly details: string;
  constructor(code: number, details: string, options?: { cause?: unknown }) {
    super(`${statusName(code)}: ${details}`, options);
    this.code = code;
    this.codeName = statusName(code);
    this.kind = STATUS_TO_KIND[code] ?? 'unknown';
    this.details = details;
  }
}

export function isPlexusClientError(e: unknown, kind?: ClientErrorKind): e is PlexusClientError {
  return e instanceof PlexusClientError && (kind === undefined || e.kind === kind);
}

/** A grpc-js ServiceError (or anything thrown around a call) as a PlexusClientError. */
export function fromServiceError(e: unknown): PlexusClientError {
  if (e instanceof PlexusClientError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const details = (e as { details?: unknown } | null)?.details;
  if (typeof code === 'number' && typeof details === 'string') return new PlexusClientError(code, details, { cause: e });
  return new PlexusClientError(grpc.status.INTERNAL, e instanceof Error ? e.message : String(e), { cause: e });
}

/** ModelStreamInfer reports failures in-band as "STATUS_NAME: message" (see streamErrorMessage). */
export function fromStreamErrorMessage(text: string): PlexusClientError {
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(text);
  const code = m ? (grpc.status as unknown as Record<string, number | undefined>)[m[1] ?? ''] : undefined;
  if (m && typeof code === 'number') return new PlexusClientError(code, m[2] ?? '');
  return new PlexusClientError(grpc.status.UNKNOWN, text);
}

export function cancelledError(what: string): PlexusClientError {
  return new PlexusClientError(grpc.status.CANCELLED, `${what} was cancelled by the caller`);
}
