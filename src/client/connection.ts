// The one gRPC connection stack of plexus/client and the CLI: one HTTP/2 channel per target
// shared by every service client on it (KServe inference, plexus.v1.Plexus, plexus.v1.Jobs,
// grpc.health.v1.Health), TLS and bearer token, and promise-returning unary calls with a
// deadline and an optional AbortSignal that reject with a PlexusClientError.
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../wire/limits.ts';
import { loadServices, type LoadedServices } from '../wire/protos.ts';
import { channelCredentials, tokenInterceptor, type ClientTls } from './auth.ts';
import { cancelledError, fromServiceError, PlexusClientError } from './errors.ts';

export type ServiceName = keyof LoadedServices;

export interface ConnectionOptions {
  readonly token?: string | undefined;
  readonly tls?: ClientTls | undefined;
  /** Replaces `tls`: credentials made by the caller. */
  readonly credentials?: grpc.ChannelCredentials | undefined;
  /** Receive and send limit of the channel; default 64 MiB (the node's default). */
  readonly maxMessageBytes?: number | undefined;
  /** Added last: they override the limits above. */
  readonly channelOptions?: grpc.ChannelOptions | undefined;
}

export interface Connection {
  readonly target: string;
  /** The client of one service, made at the first ask; all share one channel. */
  client(service: ServiceName): grpc.Client;
  /** Closes the channel; calls in flight fail with CANCELLED or UNAVAILABLE. Idempotent. */
  close(): void;
}

export function openConnection(target: string, options: ConnectionOptions = {}): Connection {
  const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const clientOptions: grpc.ClientOptions = {
    'grpc.max_receive_message_length': max, 'grpc.max_send_message_length': max, ...options.channelOptions,
    ...(options.token === undefined ? {} : { interceptors: [tokenInterceptor(options.token)] }),
  };
  const credentials = options.credentials ?? channelCredentials(options.tls);
  const services = loadServices();
  const clients = new Map<ServiceName, grpc.Client>();
  let first: grpc.Client | undefined;
  return {
    target,
    client(service) {
      let c = clients.get(service);
      if (c === undefined) {
        // Share the channel: later clients reuse the first one's connection.
        c = new services[service](target, credentials, first === undefined ? clientOptions : { ...clientOptions, channelOverride: first.getChannel() });
        first ??= c;
        clients.set(service, c);
      }
      return c;
    },
    close() {
      for (const c of [...clients.values()].reverse()) c.close();
      clients.clear();
    },
  };
}

export interface UnaryOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

type UnaryMethod<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions,
  cb: (error: grpc.ServiceError | null, response?: Res) => void) => grpc.ClientUnaryCall;

/** Calls `method` on `client`; rejects with a PlexusClientError (the node's status and message). */
export function unary<Res>(client: grpc.Client, method: string, request: object, options: UnaryOptions): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryMethod<object, Res> | undefined>)[method];
  if (!fn) return Promise.reject(new PlexusClientError(grpc.status.UNIMPLEMENTED, `no method ${method}`));
  const { signal } = options;
  if (signal?.aborted === true) return Promise.reject(cancelledError(method));
  return new Promise<Res>((resolve, reject) => {
    const onAbort = (): void => call.cancel();
    const call = fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + options.timeoutMs }, (error, response) => {
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(signal?.aborted === true ? cancelledError(method) : fromServiceError(error));
      else resolve(response as Res);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
