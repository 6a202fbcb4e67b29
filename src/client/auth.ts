// What a client shows a node that wants it: TLS (a CA to trust, and for mutual TLS a client
// certificate and key) and a bearer token, sent as `authorization: Bearer <token>` on every
// call. Shared by plexus/client and the CLI.
import * as grpc from '@grpc/grpc-js';

export interface ClientTls {
  /** PEM CA certificate(s) that signed the node's certificate; default the system roots. */
  readonly ca?: string | Uint8Array;
  /** Mutual TLS: this client's PEM certificate and key. */
  readonly cert?: string | Uint8Array;
  readonly key?: string | Uint8Array;
}

const buf = (x: string | Uint8Array | undefined): Buffer | null => (x === undefined ? null : Buffer.from(x));

export function channelCredentials(tls: ClientTls | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new TypeError('tls: cert and key go together (mutual TLS)');
  return grpc.credentials.createSsl(buf(tls.ca), buf(tls.key), buf(tls.cert));
}

/** Adds the bearer token to every call's metadata (works over plaintext too, unlike call credentials). */
export function tokenInterceptor(token: string): grpc.Interceptor {
  if (!/^\S+$/.test(token)) throw new TypeError('token: expected one word without spaces');
  return (options, nextCall) => new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set('authorization', `Bearer ${token}`);
      next(metadata, listener);
    },
  });
}
