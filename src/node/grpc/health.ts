// The standard grpc.health.v1.Health service: "" is the whole server, plus one entry per
// served service. On shutdown everything turns NOT_SERVING first, so load balancers and
// watchers move away before the listener closes.
import * as grpc from '@grpc/grpc-js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';
type WireStatus = ServingStatus | 'SERVICE_UNKNOWN';

interface HealthRequest { service: string }
interface HealthResponse { status: WireStatus }

export interface HealthState {
  get(service: string): ServingStatus | undefined;
  /** Sets one service, or with service "" the server and every service. */
  set(service: string, status: ServingStatus): void;
  /** NOT_SERVING everywhere, then end every Watch stream so shutdown is not held open. */
  shutdown(): void;
}

export interface HealthService {
  readonly state: HealthState;
  readonly handlers: grpc.UntypedServiceImplementation;
}

export function createHealthService(serviceNames: readonly string[]): HealthService {
  const statuses = new Map<string, ServingStatus>([['', 'NOT_SERVING'], ...serviceNames.map((n) => [n, 'NOT_SERVING'] as const)]);
  const watchers = new Set<{ service: string; call: grpc.ServerWritableStream<HealthRequest, HealthResponse> }>();

  const notify = (service: string): void => {
    const status = statuses.get(service);
    if (status === undefined) return;
    for (const w of watchers) if (w.service === service) w.call.write({ status });
  };

  const state: HealthState = {
    get: (service) => statuses.get(service),
    set(service, status) {
      const targets = service === '' ? [...statuses.keys()] : [service];
      for (const name of targets) {
        if (statuses.get(name) === status) continue;
        statuses.set(name, status);
        notify(name);
      }
    },
    shutdown() {
      state.set('', 'NOT_SERVING');
      for (const w of watchers) w.call.end();
      watchers.clear();
    },
  };

  const handlers: grpc.UntypedServiceImplementation = {
    Check(call: grpc.ServerUnaryCall<HealthRequest, HealthResponse>, callback: grpc.sendUnaryData<HealthResponse>) {
      const status = statuses.get(call.request.service);
      if (status === undefined) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service '${call.request.service}'` });
        return;
      }
      callback(null, { status });
    },
    Watch(call: grpc.ServerWritableStream<HealthRequest, HealthResponse>) {
      const watcher = { service: call.request.service, call };
      watchers.add(watcher);
      call.on('cancelled', () => watchers.delete(watcher));
      call.write({ status: statuses.get(watcher.service) ?? 'SERVICE_UNKNOWN' });
    },
  };
  return { state, handlers };
}
