// The CLI's gRPC calls go through plexus/client's connection stack (src/client/connection.ts):
// one channel per target, promise-returning unary calls rejecting with PlexusClientError.
import type * as grpc from '@grpc/grpc-js';
import { openConnection, unary as call } from '../client/connection.ts';
import { parseHostPort } from '../wire/address.ts';
import { UsageError } from './cli-error.ts';
import type { ClientAuth } from './connect-auth.ts';

export interface PlexusClients {
  readonly inference: grpc.Client;
  readonly plexus: grpc.Client;
  close(): void;
}

export function connect(target: string, auth: ClientAuth = {}): PlexusClients {
  if (!parseHostPort(target)) throw new UsageError(`--target: '${target}' is not HOST:PORT`);
  // No send limit of our own: the node's limit answers RESOURCE_EXHAUSTED for a file too large.
  const connection = openConnection(target, { ...auth, channelOptions: { 'grpc.max_send_message_length': -1 } });
  return { inference: connection.client('inference'), plexus: connection.client('plexus'), close: () => connection.close() };
}

/** Calls `method` on `client`; rejects with a PlexusClientError (code + details, as a grpc ServiceError has). */
export function unary<Req extends object, Res>(client: grpc.Client, method: string, request: Req, timeoutMs: number): Promise<Res> {
  return call<Res>(client, method, request, { timeoutMs });
}
