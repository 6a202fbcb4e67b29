// `plexus health`: one grpc.health.v1 Check, for container HEALTHCHECKs and scripts that
// cannot speak gRPC. Exit 0 only when SERVING, so a draining node (NOT_SERVING) fails it.
// Kept light (no options, inference or libp2p imports): a HEALTHCHECK runs it every few seconds.
import { parseArgs } from 'node:util';
import { openConnection, unary } from '../client/connection.ts';
import { parseHostPort } from '../wire/address.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError } from './cli-error.ts';
import { clientAuth } from './connect-auth.ts';

export const HEALTH_HELP = `Usage: plexus health --target HOST:PORT [--service NAME] [--timeout-ms N]

Ask a node's gRPC health service (grpc.health.v1.Health/Check) whether it is serving.
Prints the status; exits 0 when SERVING, 1 otherwise (NOT_SERVING, unreachable, timeout).

Options:
  --target HOST:PORT   the node's gRPC address (required)
  --service NAME       a service to ask about, e.g. inference.GRPCInferenceService
                       (default "": the whole server)
  --timeout-ms N       deadline for the call (default 3000)
  --tls-ca FILE        a node run with --tls-cert: trust this PEM CA
  --tls-cert FILE      ... and with --tls-client-ca: this client certificate
  --tls-key FILE       ... and its key (health checks need no token)
  -h, --help           show this help
`;

interface HealthCheckResponse { status?: string }

export async function runHealth(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      target: { type: 'string' },
      service: { type: 'string', default: '' },
      'timeout-ms': { type: 'string', default: '3000' },
      help: { type: 'boolean', short: 'h', default: false },
      'tls-ca': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
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
  const timeoutMs = Number(values['timeout-ms']);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
    throw new UsageError(`--timeout-ms: expected an integer 1..600000, got '${values['timeout-ms']}'`);
  }
  const connection = openConnection(values.target, { tls: clientAuth(values).tls });
  try {
    const response = await unary<HealthCheckResponse>(connection.client('health'), 'Check', { service: values.service }, { timeoutMs });
    const status = response.status ?? 'UNKNOWN';
    process.stdout.write(`${status}\n`);
    return status === 'SERVING' ? EXIT_OK : EXIT_FAILURE;
  } finally {
    connection.close();
  }
}
