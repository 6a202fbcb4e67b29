// Which calls need which role. Health checks stay open (probes carry no token); model
// repository load/unload change the node (admin); everything else (inference, metadata,
// repository index, the cluster views, /metrics, the dashboard and its read-only JSON) is
// `query`. Pure; the gRPC and HTTP guards apply it.
import { PermissionDeniedError } from '../../errors.ts';
import type { Principal, Role } from './tokens.ts';

export type Access = 'open' | Role;

const ADMIN_GRPC = new Set(['RepositoryModelLoad', 'RepositoryModelUnload']);

/** `service` is the proto service's full name, e.g. grpc.health.v1.Health. */
export function grpcAccess(service: string, method: string): Access {
  if (service === 'grpc.health.v1.Health') return 'open';
  return ADMIN_GRPC.has(method) ? 'admin' : 'query';
}

export function httpAccess(pathname: string): Access {
  if (pathname === '/v2/health/live' || pathname === '/v2/health/ready') return 'open';
  if (/^\/v2\/repository\/models\/[^/]+\/(load|unload)$/.test(pathname)) return 'admin';
  return 'query';
}

/** PermissionDeniedError when the caller's role is below what the call needs. */
export function checkRole(principal: Principal, access: Access, what: string): void {
  if (access === 'admin' && principal.role !== 'admin') {
    throw new PermissionDeniedError(`${what} needs an admin token; tenant '${principal.tenant}' has role ${principal.role}`);
  }
}
