// `plexus node start`: compile options, start the node, report where it listens, and shut
// down cleanly on SIGINT/SIGTERM (in-flight requests finish, exit 0).
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { createLogger } from '../logger.ts';
import { createPlexusNode } from '../node/daemon.ts';
import { ROUTING_POLICIES } from '../routing/policies.ts';
import { formatHostPort } from '../wire/address.ts';
import { compileNodeOptions, DEFAULT_GRPC, DEFAULT_LISTEN, type NodeFlags, type NodeOptions } from '../node/options.ts';
import { EXIT_OK } from './cli-error.ts';
import { trustFlags } from './trust-flags.ts';
import { ConfigError } from '../errors.ts';
import { exposureProblems, exposureRefusal } from '../node/auth/exposure.ts';

export const NODE_START_HELP = `Usage: plexus node start [options]

Start a Plexus node. Without --config it hosts the embedded default models
(silero-vad with the speech.vad adapter; PP-OCRv4 with ocr.detect, ocr.recognize and
ocr.read). It joins the cluster over libp2p, advertises what it hosts, and answers queries
for anything any reachable peer hosts.

Options:
  --config FILE            YAML or JSON config with a models: list and an optional node: section
  --grpc HOST:PORT         gRPC listen address (default ${DEFAULT_GRPC}; port 0 picks a free port)
  --http HOST:PORT         HTTP port: Prometheus GET /metrics and KServe v2 REST under /v2
                           (default off; port 0 picks a free port)
  --data-dir DIR           node state directory (default ~/.plexus)
  --log-level LEVEL        fatal|error|warn|info|debug|trace|silent (default info); logs go to stderr
  --max-message-bytes N    largest gRPC message accepted (default 67108864)
  --listen MULTIADDR       libp2p listen address, repeatable (default ${DEFAULT_LISTEN};
                           /tcp/0 when --grpc has port 0)
  --bootstrap MULTIADDR    a peer to join through, repeatable, redialled while down;
                           /p2p/<peer id> optional, e.g. /dns4/plexus-0.plexus/tcp/4001
  --static                 dial only --bootstrap peers, never peers learned from routes
                           (inbound connections are still accepted)
  --no-models              pure router: load and advertise no models, forward for others
  --only CAP[,CAP...]      host only what serves these capabilities out of the config (or the
                           embedded default): each entry serving one, plus the raw models it
                           runs on; a pipeline without its steps' models (they are routed)
  --routing-policy NAME    ${ROUTING_POLICIES.join('|')} (default plexus)
  --otlp-endpoint URL      export traces over OTLP/HTTP to this collector, e.g.
                           http://127.0.0.1:4318 (default off)

Trust (see README, Security):
  --swarm-key FILE         private cluster: only peers with this pre-shared key can connect
                           (make one with 'plexus keygen swarm-key > swarm.key')
  --allow-peer ID          only these peer ids may connect (repeatable)
  --deny-peer ID           these peer ids may never connect (repeatable)
  --tls-cert FILE          serve gRPC and HTTP over TLS with this PEM certificate (chain)
  --tls-key FILE           ... and this PEM private key
  --tls-client-ca FILE     mutual TLS: clients need a certificate signed by this CA
  --tokens FILE            callers need a bearer token listed (hashed) in this YAML file
                           (re-read on change; 'plexus keygen token' makes one)
  --model-dir DIR          model repository loads may only name files under DIR (repeatable;
                           default the config file's directory)
  --open                   allow a non-loopback listen address without a swarm key or
                           allow-list (libp2p) and without TLS or tokens (gRPC/HTTP)
  --json                   when ready, print one JSON line
                           {"peerId","grpc","http","multiaddrs","models"} on stdout
  --check-config           validate flags and config, print the compiled options as
                           one JSON line and exit 0 (loads no model, binds no port)
  -h, --help               show this help
`;

/** The flags `node start` accepts (exported so deploy manifests can be checked against it). */
export const NODE_START_OPTIONS = {
  config: { type: 'string' },
  grpc: { type: 'string' },
  http: { type: 'string' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'max-message-bytes': { type: 'string' },
  listen: { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  static: { type: 'boolean' },
  'no-models': { type: 'boolean' },
  only: { type: 'string', multiple: true },
  'routing-policy': { type: 'string' },
  'otlp-endpoint': { type: 'string' },
  'swarm-key': { type: 'string' },
  'allow-peer': { type: 'string', multiple: true },
  'deny-peer': { type: 'string', multiple: true },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-client-ca': { type: 'string' },
  tokens: { type: 'string' },
  'model-dir': { type: 'string', multiple: true },
  open: { type: 'boolean' },
  json: { type: 'boolean', default: false },
  'check-config': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsOptionsConfig;

export interface NodeStartArgs {
  readonly flags: NodeFlags;
  readonly json: boolean;
  readonly checkConfig: boolean;
  readonly help: boolean;
}

/** Parses `node start` arguments (throws parseArgs' ERR_PARSE_ARGS_* errors on unknown flags). */
export function parseNodeStartArgs(args: readonly string[]): NodeStartArgs {
  const { values } = parseArgs({ args: [...args], options: NODE_START_OPTIONS, strict: true, allowPositionals: false });
  const flags: NodeFlags = {
    ...(values.config !== undefined ? { config: values.config } : {}),
    ...(values.grpc !== undefined ? { grpc: values.grpc } : {}),
    ...(values.http !== undefined ? { http: values.http } : {}),
    ...(values['data-dir'] !== undefined ? { dataDir: values['data-dir'] } : {}),
    ...(values['log-level'] !== undefined ? { logLevel: values['log-level'] } : {}),
    ...(values['max-message-bytes'] !== undefined ? { maxMessageBytes: values['max-message-bytes'] } : {}),
    ...(values.listen !== undefined ? { listen: values.listen } : {}),
    ...(values.bootstrap !== undefined ? { bootstrap: values.bootstrap } : {}),
    ...(values.static !== undefined ? { static: values.static } : {}),
    ...(values['no-models'] !== undefined ? { noModels: values['no-models'] } : {}),
    ...(values.only !== undefined ? { only: values.only } : {}),
    ...(values['routing-policy'] !== undefined ? { routingPolicy: values['routing-policy'] } : {}),
    ...(values['otlp-endpoint'] !== undefined ? { otlpEndpoint: values['otlp-endpoint'] } : {}),
    ...trustFlags(values),
  };
  return { flags, json: values.json, checkConfig: values['check-config'], help: values.help };
}

export async function runNodeStart(args: readonly string[]): Promise<number> {
  const { flags, json, checkConfig, help } = parseNodeStartArgs(args);
  if (help) {
    process.stdout.write(NODE_START_HELP);
    return EXIT_OK;
  }
  // Everything is validated here, before any model loads or port binds.
  const options = compileNodeOptions(flags);
  // The secure-by-default refusal too (the daemon checks again when it starts).
  const exposed = exposureProblems(options);
  if (exposed.length > 0) throw new ConfigError(exposureRefusal(exposed));
  if (checkConfig) {
    process.stdout.write(`${JSON.stringify(summarizeOptions(options))}\n`);
    return EXIT_OK;
  }
  const logger = createLogger({ level: options.logLevel, destination: 'stderr' });
  const node = createPlexusNode(options, { logger });

  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting for in-flight requests');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      node.stop().then(resolve, (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  const { grpc, http, peerId, multiaddrs } = await node.start();
  const models = node.models().map((m) => ({ name: m.name, version: m.version, capabilities: m.capabilities, ready: m.ready }));
  if (json) {
    process.stdout.write(`${JSON.stringify({ peerId: peerId || null, grpc, http: http ?? null, multiaddrs, models })}\n`);
  } else {
    const names = models.map((m) => (m.capabilities.length ? `${m.name} (${m.capabilities.join(', ')})` : m.name));
    process.stdout.write(`plexus node ${peerId} listening on grpc ${grpc}${http === undefined ? '' : `, http ${http}`}, p2p ${multiaddrs.join(' ') || 'none'}; models: ${names.join(', ') || 'none'}\n`);
  }
  await stopped;
  return EXIT_OK;
}


/** What --check-config prints: the compiled options a start would use. */
function summarizeOptions(options: NodeOptions): object {
  return {
    grpc: formatHostPort(options.grpc.address),
    http: options.http === undefined ? null : formatHostPort(options.http.address),
    dataDir: options.dataDir,
    logLevel: options.logLevel,
    models: options.models.map((m) => ({ name: m.name, kind: m.kind, capabilities: m.capabilities, ...(m.kind === 'onnx' ? { path: m.path, provider: m.provider } : {}) })),
    p2p: options.p2p ?? null,
    tracing: options.tracing ?? null,
  };
}
