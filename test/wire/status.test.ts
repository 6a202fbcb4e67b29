// The one kind <-> status table and the structured error details beside the readable text.
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { fromServiceError, fromStreamError } from '../../src/client/errors.ts';
import { ERROR_KINDS, ModelNotFoundError, QueueFullError } from '../../src/errors.ts';
import {
  ERROR_KIND_KEY, ERROR_NAME_KEY, kindForStatus, parseStreamError, statusForKind, streamErrorResponse, toServiceError,
} from '../../src/wire/status.ts';

describe('wire status', () => {
  it('maps every kind to a distinct status and back', () => {
    const codes = ERROR_KINDS.map(statusForKind);
    expect(new Set(codes).size).toBe(ERROR_KINDS.length);
    for (const kind of ERROR_KINDS) expect(kindForStatus(statusForKind(kind))).toBe(kind);
    expect(kindForStatus(grpc.status.OK)).toBeUndefined();
    expect(kindForStatus(grpc.status.UNKNOWN)).toBeUndefined();
  });

  it('a failed call carries the kind and the error name in trailing metadata; the client reads them', () => {
    const e = toServiceError(new ModelNotFoundError('nope'));
    expect(e.code).toBe(grpc.status.NOT_FOUND);
    expect(e.metadata?.get(ERROR_KIND_KEY)).toEqual(['not_found']);
    expect(e.metadata?.get(ERROR_NAME_KEY)).toEqual(['ModelNotFoundError']);
    expect(toServiceError(new Error('boom')).metadata?.get(ERROR_KIND_KEY)).toEqual(['internal']);
    const client = fromServiceError({ code: e.code, details: e.details, metadata: e.metadata });
    expect(client).toMatchObject({ code: grpc.status.NOT_FOUND, kind: 'not_found', details: e.details });
  });

  it('a failed stream item keeps readable text and carries the kind as a parameter', () => {
    const msg = streamErrorResponse(new QueueFullError('queue full'), { model_name: 'm', id: 'q7' });
    expect(msg.error_message).toBe('RESOURCE_EXHAUSTED: queue full');
    expect(msg.infer_response).toMatchObject({ model_name: 'm', id: 'q7' });
    expect(parseStreamError(msg)).toEqual({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'queue full' });
    // The kind decides, not the text: a message without the status prefix keeps its kind.
    const bare = { error_message: 'no prefix here', infer_response: { id: 'x', parameters: { 'plexus.error_kind': { string_param: 'not_found' } } } };
    expect(fromStreamError(bare)).toMatchObject({ code: grpc.status.NOT_FOUND, kind: 'not_found', details: 'no prefix here' });
  });

  it('reads the text of a node that sends no kind, and calls anything else UNKNOWN', () => {
    expect(parseStreamError({ error_message: 'NOT_FOUND: gone' })).toEqual({ code: grpc.status.NOT_FOUND, details: 'gone' });
    expect(parseStreamError({ error_message: 'Bogus: x' })).toEqual({ code: grpc.status.UNKNOWN, details: 'Bogus: x' });
    expect(parseStreamError({ error_message: 'plain' })).toEqual({ code: grpc.status.UNKNOWN, details: 'plain' });
  });
});
