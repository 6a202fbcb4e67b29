// The gRPC server: binds one address, serves KServe v2, Health and Plexus, and shuts down
// gracefully (stop accepting, let in-flight calls finish, force after a grace period).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../logger.ts';
import { formatHostPort, type HostPort } from '../../wire/address.ts';
import { withBoundedInferDecoding } from './bounded-service.ts';
import type { DecodeLimits } from './infer-decoder.ts';
import { loadServices } from '../../wire/protos.ts';

export interface GrpcServerInit {
  readonly address: HostPort;
  /** Larger messages are refused with RESOURCE_EXHAUSTED naming the limit. */
  readonly maxReceiveMessageBytes: number;
  readonly handlers: {
    readonly inference: grpc.UntypedServiceImplementation;
    readonly health: grpc.UntypedServiceImplementation;
    readonly plexus: grpc.UntypedServiceImplementation;
    /** plexus.v1.Jobs; absent when jobs are off. */
    readonly jobs?: grpc.UntypedServiceImplementation;
  };
  readonly logger: Logger;
  /** Limits of the bounded ModelInfer decoder; absent = protobufjs decodes (unbounded). */
  readonly decodeLimits?: DecodeLimits;
  /** TLS or mutual TLS (src/node/auth/tls.ts); default plaintext. */
  readonly credentials?: grpc.ServerCredentials;
}

export interface GrpcServer {
  /** Binds and serves; resolves with the bound HOST:PORT (the real port when 0 was asked). */
  start(): Promise<string>;
  /** Stops accepting calls; waits up to graceMs for in-flight calls, then cancels the rest. */
  stop(graceMs: number): Promise<void>;
}

/** Concurrent HTTP/2 streams one client connection may open. */
const MAX_CONCURRENT_STREAMS = 1024;

export function createGrpcServer(init: GrpcServerInit): GrpcServer {
  const services = loadServices();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': init.maxReceiveMessageBytes,
    'grpc.max_concurrent_streams': MAX_CONCURRENT_STREAMS,
    // Channelz bookkeeping costs about 3% of a query's server time and nothing here reads it.
    'grpc.enable_channelz': 0,
  });
  const inference = init.decodeLimits === undefined ? services.inference.service : withBoundedInferDecoding(services.inference.service, init.decodeLimits);
  server.addService(inference, init.handlers.inference);
  server.addService(services.health.service, init.handlers.health);
  server.addService(services.plexus.service, init.handlers.plexus);
  if (init.handlers.jobs !== undefined) server.addService(services.jobs.service, init.handlers.jobs);
  let started = false;

  return {
    start() {
      const target = formatHostPort(init.address);
      return new Promise((resolve, reject) => {
        server.bindAsync(target, init.credentials ?? grpc.ServerCredentials.createInsecure(), (error, port) => {
          if (error) {
            reject(new Error(`cannot bind gRPC on ${target}: ${error.message}`, { cause: error }));
            return;
          }
          started = true;
          const bound = formatHostPort({ host: init.address.host, port });
          init.logger.info({ grpc: bound }, 'gRPC server listening');
          resolve(bound);
        });
      });
    },
    stop(graceMs) {
      if (!started) return Promise.resolve();
      started = false;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          init.logger.warn({ graceMs }, 'gRPC calls still running after the grace period; cancelling them');
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
