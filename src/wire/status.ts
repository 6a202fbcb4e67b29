// The ONE table between PlexusError kinds and gRPC status codes, both ways (the node maps an
// error to a status, the client a status back to the kind), and the structured error details
// that travel beside the status: trailing metadata `plexus-error-kind` / `plexus-error-name`
// on a failed call, and `plexus.error_kind` in the answer of a failed ModelStreamInfer item,
// whose error_message stays readable text ("NOT_FOUND: model ... is not served here").
// Anything that is not a PlexusError is a bug on our side: INTERNAL with its message, never UNKNOWN.
import * as grpc from '@grpc/grpc-js';
import { ERROR_KINDS, isPlexusError, type ErrorKind } from '../errors.ts';
import type { WireParameters, WireStreamInferResponse } from './messages.ts';

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

const STATUS_TO_KIND: ReadonlyMap<number, ErrorKind> = new Map(ERROR_KINDS.map((k) => [KIND_TO_STATUS[k], k]));

/** Trailing metadata keys of a failed call (set by toServiceError). */
export const ERROR_KIND_KEY = 'plexus-error-kind';
export const ERROR_NAME_KEY = 'plexus-error-name';
/** The parameter of a failed stream item's infer_response that carries the kind. */
export const STREAM_ERROR_KIND_PARAM = 'plexus.error_kind';

export function statusForKind(kind: ErrorKind): grpc.status {
  return KIND_TO_STATUS[kind];
}

/** The kind a status code stands for; undefined for OK, UNKNOWN and codes Plexus never sends. */
export function kindForStatus(code: number): ErrorKind | undefined {
  return STATUS_TO_KIND.get(code);
}

export function isErrorKind(s: unknown): s is ErrorKind {
  return typeof s === 'string' && Object.hasOwn(KIND_TO_STATUS, s);
}

/** A grpc-js error object (code + details + trailing metadata with the kind) for any thrown value. */
export function toServiceError(error: unknown): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
  const metadata = new grpc.Metadata();
  if (isPlexusError(error)) {
    metadata.set(ERROR_KIND_KEY, error.kind);
    metadata.set(ERROR_NAME_KEY, error.name);
    return { code: statusForKind(error.kind), details: error.message, metadata };
  }
  const message = error instanceof Error ? error.message : String(error);
  metadata.set(ERROR_KIND_KEY, 'internal');
  return { code: grpc.status.INTERNAL, details: `internal error: ${message}`, metadata };
}

/** The text a ModelStreamInfer error_message carries: status name, then message. */
export function streamErrorMessage(error: unknown): string {
  const { code, details } = toServiceError(error);
  return `${statusName(code)}: ${details}`;
}

/** A failed stream item: readable error_message, the kind as a parameter, the request's id echoed for matching. */
export function streamErrorResponse(error: unknown, request: { model_name: string; id: string }): WireStreamInferResponse {
  const { code } = toServiceError(error);
  const kind = kindForStatus(code) ?? 'internal';
  const parameters: WireParameters = { [STREAM_ERROR_KIND_PARAM]: { string_param: kind } };
  return { error_message: streamErrorMessage(error), infer_response: { model_name: request.model_name, id: request.id, parameters } };
}

/** The status and message of a failed stream item: from its kind parameter, else from the "NAME: message" text. */
export function parseStreamError(msg: WireStreamInferResponse): { code: number; details: string } {
  const text = msg.error_message;
  const p = msg.infer_response?.parameters?.[STREAM_ERROR_KIND_PARAM];
  const kind = p?.string_param;
  if (isErrorKind(kind)) {
    const code = statusForKind(kind);
    const prefix = `${statusName(code)}: `;
    return { code, details: text.startsWith(prefix) ? text.slice(prefix.length) : text };
  }
  // A node from before the kind parameter: the status name is the text's prefix.
  const colon = text.indexOf(': ');
  const code = colon > 0 ? statusCode(text.slice(0, colon)) : undefined;
  return code === undefined ? { code: grpc.status.UNKNOWN, details: text } : { code, details: text.slice(colon + 2) };
}

/** `NOT_FOUND` for 5, etc.; `UNKNOWN(<n>)` for a code grpc-js does not name. */
export function statusName(code: number): string {
  const name = (grpc.status as unknown as Record<number, string | undefined>)[code];
  return name ?? `UNKNOWN(${code})`;
}

/** 5 for `NOT_FOUND`, etc.; undefined for a name grpc-js does not know. */
export function statusCode(name: string): number | undefined {
  if (!/^[A-Z_]+$/.test(name)) return undefined;
  const code = (grpc.status as unknown as Record<string, number | undefined>)[name];
  return typeof code === 'number' ? code : undefined;
}
