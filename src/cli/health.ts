// `plexus health`: one grpc.health.v1 Check, for container HEALTHCHECKs and scripts that
// cannot speak gRPC. Exit 0 only when SERVING, so a draining node (NOT_SERVING) fails it.
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { parseHostPort } from '../node/grpc/address.ts';
import { loadServices } from '../node/grpc/protos.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError } from './cli-error.ts';
import { unary } from './client.ts';
import { parseTimeout } from './node-info.ts';

export const HEALTH_HELP = `Usage: plexus health --target HOST:PORT [--service NAME] [--timeout-ms N]

Ask a node's gRPC health service (grpc.health.v1.Health/Check) whether it is serving.
Prints the status; exits 0 when SERVING, 1 otherwise (NOT_SERVING, unreachable, timeout).

Options:
  --target HOST:PORT   the node's gRPC address (required)
  --service NAME       a service to ask about, e.g. inference.GRPCInferenceService
                       (default "": the whole server)
  --timeout-ms N       deadline for the call (default 3000)
  -h, --help           show this help
`;

interface HealthCheckResponse { status: string }

export async function runHealth(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      target: { type: 'string' },
      service: { type: 'string', default: '' },
      'timeout-ms': { type: 'string', default: '3000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HEALTH_HELP);
    return EXIT_OK;
  }
  if (values.target === undefined) throw new UsageError('--target HOST:PORT is required');
  if (!parseHostPort(values.target)) throw new UsageError(`--target: '${values.target}' is not HOST:PORT`);
  const timeoutMs = parseTimeout(values['timeout-ms']);
  const client = new (loadServices().health)(values.target, grpc.credentials.createInsecure());
  try {
    const { status } = await unary<{ service: string }, HealthCheckResponse>(client, 'Check', { service: values.service }, timeoutMs);
    process.stdout.write(`${status}\n`);
    return status === 'SERVING' ? EXIT_OK : EXIT_FAILURE;
  } finally {
    client.close();
  }
}
