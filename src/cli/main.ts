// The `plexus` command line: `node start`, `node info`, `query`, `peers`, `routes`, `caps`.
// Commands load on demand: `plexus health`, a container HEALTHCHECK run every few seconds,
// must not pay for loading ONNX Runtime and libp2p.
import { describeFailure, EXIT_OK, EXIT_USAGE, UsageError } from './cli-error.ts';

const HELP = `Usage: plexus <command> [options]

Commands:
  node start    start a node (hosts models, serves KServe v2 gRPC)
  node info     show what a running node hosts
  query         send a file to a model or capability and print the answer
  health        ask a node's gRPC health service; exit 0 when SERVING
  peers         list the peers a node is connected to
  routes        show a node's routing table with every metric part
  caps          list the capabilities the cluster offers and who provides them
  job           durable async jobs: submit, watch, get, cancel, list, delete
  keygen        print a new swarm key or caller token

Run 'plexus <command> --help' for a command's options.
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === 'node') {
    if (sub === 'start') return (await import('./node-start.ts')).runNodeStart(rest);
    if (sub === 'info') return (await import('./node-info.ts')).runNodeInfo(rest);
    if (sub === undefined || sub === '--help' || sub === '-h') {
      const [{ NODE_START_HELP }, { NODE_INFO_HELP }] = await Promise.all([import('./node-start.ts'), import('./node-info.ts')]);
      process.stdout.write(`${NODE_START_HELP}\n${NODE_INFO_HELP}`);
      return sub === undefined ? EXIT_USAGE : EXIT_OK;
    }
    throw new UsageError(`unknown command 'node ${sub}' (expected 'node start' or 'node info')`);
  }
  if (command === 'keygen') return (await import('./keygen.ts')).runKeygen(argv.slice(1));
  if (command === 'query') return (await import('./query.ts')).runQuery(argv.slice(1));
  if (command === 'job') return (await import('./job.ts')).runJob(argv.slice(1));
  if (command === 'health') return (await import('./health.ts')).runHealth(argv.slice(1));
  if (command === 'peers' || command === 'routes' || command === 'caps') {
    return (await import('./cluster.ts')).runClusterCommand(command, argv.slice(1));
  }
  throw new UsageError(`unknown command '${command}'\n\n${HELP}`);
}

/** parseArgs reports bad flags as TypeErrors with an ERR_PARSE_ARGS_* code. */
function asUsageError(e: unknown): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS') ? new UsageError((e as Error).message) : e;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    const { message, exitCode } = describeFailure(asUsageError(error));
    process.stderr.write(`plexus: ${message}\n`);
    process.exitCode = exitCode;
  },
);

