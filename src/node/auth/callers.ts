// Caller authentication at the gRPC and HTTP front ends: the token's principal (tenant, role)
// is checked against what the call needs (access.ts) before any handler runs, and remembered
// for the handler (principalOf) so queries carry their tenant. Without a tokens file every
// call passes and has no tenant.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../logger.ts';
import { toServiceError } from '../../wire/status.ts';
import { toHttpError } from '../http/errors.ts';
import { checkRole, grpcAccess, httpAccess, type Access } from './access.ts';
import { createTokenStore, type Principal, type TokenStore } from './tokens.ts';

export interface CallerAuth {
  /** The tokens (limits per tenant), when a tokens file is configured. */
  readonly tokens: TokenStore | undefined;
  /** The same implementation with every non-open method behind the token check. */
  guardService(service: grpc.ServiceDefinition, serviceName: string, impl: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation;
  /** For the HTTP server's extra routes: answers 401/403 (true) or lets the request through (false). */
  httpGate(req: IncomingMessage, res: ServerResponse): boolean;
  stop(): void;
}

// Keyed by the gRPC call object or the HTTP request's headers object (what the handlers see).
const principals = new WeakMap<object, Principal>();

/** The authenticated caller of a gRPC call or an HTTP request (its headers), if any. */
export function principalOf(key: object): Principal | undefined {
  return principals.get(key);
}

export function createCallerAuth(tokensFile: string | undefined, logger: Logger): CallerAuth {
  const tokens = tokensFile === undefined ? undefined : createTokenStore(tokensFile, logger);
  const authenticate = (authorization: string | undefined, access: Access, what: string): Principal | undefined => {
    if (tokens === undefined || access === 'open') return undefined;
    const p = tokens.authenticate(authorization);
    checkRole(p, access, what);
    return p;
  };
  const grpcAuthorization = (md: grpc.Metadata): string | undefined => {
    const v = md.get('authorization')[0];
    return typeof v === 'string' ? v : undefined;
  };

  return {
    tokens,
    guardService(service, serviceName, impl) {
      if (tokens === undefined) return impl;
      const out: grpc.UntypedServiceImplementation = {};
      for (const [method, handler] of Object.entries(impl)) {
        const access = grpcAccess(serviceName, method);
        const def = service[method];
        if (access === 'open' || def === undefined) {
          out[method] = handler;
          continue;
        }
        const what = `${serviceName}/${method}`;
        const h = handler as (call: { metadata: grpc.Metadata; emit(e: 'error', err: unknown): boolean }, cb?: grpc.sendUnaryData<unknown>) => void;
        out[method] = ((call: { metadata: grpc.Metadata; emit(e: 'error', err: unknown): boolean }, cb?: grpc.sendUnaryData<unknown>) => {
          let p: Principal | undefined;
          try {
            p = authenticate(grpcAuthorization(call.metadata), access, what);
          } catch (e) {
            logger.debug({ method: what, err: (e as Error).message }, 'gRPC call refused');
            if (def.responseStream) call.emit('error', toServiceError(e));
            else cb?.(toServiceError(e));
            return;
          }
          if (p !== undefined) principals.set(call, p);
          h(call, cb);
        }) as grpc.UntypedHandleCall;
      }
      return out;
    },
    httpGate(req, res) {
      if (tokens === undefined) return false;
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      const access = httpAccess(pathname);
      try {
        const p = authenticate(req.headers.authorization, access, `${req.method ?? 'GET'} ${pathname}`);
        if (p !== undefined) principals.set(req.headers, p);
        return false;
      } catch (e) {
        const { status, message } = toHttpError(e);
        const body = JSON.stringify({ error: message });
        res.writeHead(status, {
          // The request body is not read: close the connection after answering.
          'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close',
          ...(status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}),
        });
        res.end(body);
        return true;
      }
    },
    stop: () => tokens?.stop(),
  };
}
