// Every failure the client reports is a PlexusClientError carrying the gRPC status: `code`
// (the number), `codeName` ('NOT_FOUND') and `kind` (the node's transport-neutral name for
// it, as in src/errors.ts), so callers can branch without parsing messages.
import * as grpc from '@grpc/grpc-js';
import type { ErrorKind } from '../errors.ts';
import type { WireStreamInferResponse } from '../wire/messages.ts';
import { ERROR_KIND_KEY, isErrorKind, kindForStatus, parseStreamError, statusName } from '../wire/status.ts';

/** The node's error kinds plus what only a client sees (a status with no Plexus meaning). */
export type ClientErrorKind = ErrorKind | 'unknown';

export class PlexusClientError extends Error {
  override readonly name = 'PlexusClientError';
  /** gRPC status code (grpc.status), e.g. 5 for NOT_FOUND. */
  readonly code: number;
  /** The status's name, e.g. 'NOT_FOUND'. */
  readonly codeName: string;
  readonly kind: ClientErrorKind;
  /** The node's message, without the status prefix. */
  readonly details: string;
  /** @param kind the node's own kind when it sent one (trailing metadata, stream item); else the status's */
  constructor(code: number, details: string, options?: { cause?: unknown; kind?: ErrorKind | undefined }) {
    super(`${statusName(code)}: ${details}`, options);
    this.code = code;
    this.codeName = statusName(code);
    this.kind = options?.kind ?? kindForStatus(code) ?? 'unknown';
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
  if (typeof code === 'number' && typeof details === 'string') return new PlexusClientError(code, details, { cause: e, kind: sentKind(e) });
  return new PlexusClientError(grpc.status.INTERNAL, e instanceof Error ? e.message : String(e), { cause: e });
}

/** The kind in a failed call's trailing metadata (src/wire/status.ts), when the node sent one. */
function sentKind(e: unknown): ErrorKind | undefined {
  const metadata = (e as { metadata?: unknown } | null)?.metadata;
  if (!(metadata instanceof grpc.Metadata)) return undefined;
  const kind = metadata.get(ERROR_KIND_KEY)[0];
  return isErrorKind(kind) ? kind : undefined;
}

/** A failed ModelStreamInfer item: error_message text plus the kind parameter (see streamErrorResponse). */
export function fromStreamError(msg: WireStreamInferResponse): PlexusClientError {
  const { code, details } = parseStreamError(msg);
  return new PlexusClientError(code, details);
}

export function cancelledError(what: string): PlexusClientError {
  return new PlexusClientError(grpc.status.CANCELLED, `${what} was cancelled by the caller`);
}
