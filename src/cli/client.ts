// gRPC clients for the CLI: one channel per target, promise-returning unary calls.
import * as grpc from '@grpc/grpc-js';
import { loadServices } from '../node/grpc/protos.ts';
import { parseHostPort } from '../node/grpc/address.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../node/options.ts';
import { UsageError } from './cli-error.ts';
import { channelCredentials, tokenInterceptor } from '../client/auth.ts';
import type { ClientAuth } from './connect-auth.ts';

export interface PlexusClients {
  readonly inference: grpc.Client;
  readonly plexus: grpc.Client;
  close(): void;
}

export function connect(target: string, auth: ClientAuth = {}): PlexusClients {
  if (!parseHostPort(target)) throw new UsageError(`--target: '${target}' is not HOST:PORT`);
  const services = loadServices();
  const options: grpc.ClientOptions = {
    'grpc.max_receive_message_length': DEFAULT_MAX_MESSAGE_BYTES,
    ...(auth.token === undefined ? {} : { interceptors: [tokenInterceptor(auth.token)] }),
  };
  const credentials = channelCredentials(auth.tls);
  const inference = new services.inference(target, credentials, options);
  // Share the channel: the second client reuses the first one's connection.
  const plexus = new services.plexus(target, credentials, { ...options, channelOverride: inference.getChannel() });
  return {
    inference,
    plexus,
    close() {
      plexus.close();
      inference.close();
    },
  };
}

type UnaryMethod<Req, Res> = (request: Req, metadata: grpc.Metadata, options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: Res) => void) => grpc.ClientUnaryCall;

/** Calls `method` on `client`; rejects with the grpc ServiceError (code + details). */
export function unary<Req, Res>(client: grpc.Client, method: string, request: Req, timeoutMs: number): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryMethod<Req, Res> | undefined>)[method];
  if (!fn) throw new Error(`client has no method ${method}`);
  return new Promise((resolve, reject) => {
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
      if (error) reject(error);
      else resolve(response as Res);
    });
  });
}
