// User options (CLI flags + optional YAML/JSON config file) compiled ONCE into a validated
// NodeOptions before anything binds a port. Flags override the file's `node:` section.
// Every failure is a ConfigError naming the field (`node.grpc`, `--grpc`, `models[0].path`).
import { homedir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { compileInferenceSettings, compileModelSpecs, defaultModelSpecs, type InferenceSettings, type ModelSpec } from '../inference/index.ts';
import type { PeerLimits } from '../routing/peer-limits.ts';
import type { RoutingPolicy } from '../routing/policies.ts';
import { parseHostPort, type HostPort } from '../wire/address.ts';
import type { ConnectionLimits } from './p2p/conn-policy.ts';
import { compileMembership, compileSecurity, type MembershipOptions, type SecurityFlags, type SecurityOptions } from './auth/options.ts';
import { DEFAULT_VERIFY_RATE } from './verify/verifier.ts';
import { compileJobsOptions, type JobsOptions } from './jobs/options.ts';
import { ONLY_FLAG, parseOnly, selectModelsFor } from './host-only.ts';
import {
  DEFAULT_DATA_DIR, DEFAULT_GRPC, DEFAULT_LISTEN, DEFAULT_LOG_LEVEL, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_STREAM_IN_FLIGHT,
  DEFAULT_REFRESH_MS, DEFAULT_SHUTDOWN_GRACE_MS, type LogLevel, type NodeLimits,
} from './node-defaults.ts';
import { configFileSchema, FIELDS, FLAG_NAMES, type ConfigFile } from './options-schema.ts';
import { compileConnections, compileLimits, compilePeerLimits, parseOrThrow, readConfigFile, resolveDir } from './options-parts.ts';

// The defaults live in node-defaults.ts; re-exported for the modules that read them here.
export {
  DEFAULT_DATA_DIR, DEFAULT_GRPC, DEFAULT_LIMITS, DEFAULT_LISTEN, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_P2P_PORT, DEFAULT_REFRESH_MS,
  LOG_LEVELS, type LogLevel, type NodeLimits,
} from './node-defaults.ts';
export { readConfigFile } from './options-parts.ts';

export interface NodeOptions {
  readonly grpc: {
    readonly address: HostPort;
    /** Largest gRPC message accepted; bigger ones get RESOURCE_EXHAUSTED. */
    readonly maxMessageBytes: number;
    /** Requests one ModelStreamInfer stream may have running at once. */
    readonly maxStreamInFlight: number;
  };
  /** Absolute directory for node state (identity key, caches). */
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** How long stop() lets in-flight requests finish before cancelling them. */
  readonly shutdownGraceMs: number;
  readonly models: readonly ModelSpec[];
  /** Model worker threads and audio limits (the config file's `inference:`); absent = defaults. */
  readonly inference?: InferenceSettings;
  /** The libp2p side; absent = a local-only node without libp2p (embedding, single-node tests). */
  readonly p2p?: P2POptions;
  /** The HTTP port (Prometheus /metrics + KServe v2 REST); absent = off (the default). Bodies are bounded by grpc.maxMessageBytes. */
  readonly http?: { readonly address: HostPort };
  /** Absolute path of the --config file, when one was given (the node watches it for model changes). */
  readonly configFile?: string;
  /** Distributed tracing over OTLP/HTTP; absent = off (the default). */
  readonly tracing?: TracingOptions;
  /** Input and HTTP limits; absent = DEFAULT_LIMITS. */
  readonly limits?: NodeLimits;
  /** TLS, tokens, model directories; absent = none of them (embedding, tests on loopback). */
  readonly security?: SecurityOptions;
  /** Durable async jobs (`node.jobs`); absent = the defaults of src/node/jobs/options.ts. */
  readonly jobs?: JobsOptions;
  /** `--only`: the capabilities this node hosts out of its config (`models` is already cut to them; a config reload is too). */
  readonly only?: readonly string[];
}

export interface TracingOptions {
  /** OTLP/HTTP endpoint: a base URL (…:4318, /v1/traces is appended) or the full traces URL. */
  readonly otlpEndpoint: string;
}

export interface P2POptions {
  /** Listen multiaddrs (/ip4|ip6/HOST/tcp/PORT). */
  readonly listen: readonly string[];
  /** Peers dialled at start and redialled while disconnected; /dns4|dns6|dns names and no /p2p/ id are fine. */
  readonly bootstrap: readonly string[];
  /** Dial only bootstrap peers, never peers learned from route updates (inbound still accepted). */
  readonly static: boolean;
  /** Pure router: host and advertise nothing, forward for others. */
  readonly noModels: boolean;
  readonly routing: {
    readonly policy: RoutingPolicy;
    /** Full route dump and advert re-sign period; routes expire after 3 missed refreshes. */
    readonly refreshMs: number;
    /** Advertise onward only the k best origins per model name or capability (src/routing/cap-bound.ts); absent = all. */
    readonly maxOriginsPerCapability?: number;
  };
  /** Swarm key, peer allow/deny lists, --open; absent = an open swarm (tests on loopback). */
  readonly members?: MembershipOptions;
  /** Re-execution of answers from other providers (issue 9): sample rate, float tolerance per model. */
  readonly verify?: { readonly rate: number; readonly tolerances: Readonly<Record<string, number>> };
  /** Bounds on peer state and traffic (`node.p2p.limits`; DEFAULT_PEER_LIMITS when absent). */
  readonly limits?: PeerLimits;
  /** Connection limits (`node.p2p.connections`; DEFAULT_CONNECTION_LIMITS when absent). */
  readonly connections?: ConnectionLimits;
}

/** What the user can set, as flags or under `node:` in the config file. */
export interface NodeFlags extends SecurityFlags {
  readonly config?: string;
  readonly grpc?: string;
  readonly http?: string;
  readonly dataDir?: string;
  readonly logLevel?: string;
  readonly maxMessageBytes?: string | number;
  /** Replace the file's node.p2p.listen when non-empty. */
  readonly listen?: readonly string[];
  /** Replace the file's node.p2p.bootstrap when non-empty. */
  readonly bootstrap?: readonly string[];
  readonly static?: boolean;
  readonly noModels?: boolean;
  readonly routingPolicy?: string;
  readonly otlpEndpoint?: string;
  /** `--only` values: capability names, each comma-separated (src/node/host-only.ts). */
  readonly only?: readonly string[];
}

type FieldValue<K extends keyof typeof FIELDS> = ReturnType<(typeof FIELDS)[K]['parse']>;

export interface CompileEnv {
  readonly cwd: string;
  readonly home?: string;
}

/** The models to host: none for a pure router, else the file's (or the embedded default), narrowed by --only. */
function compileModels(
  file: ConfigFile,
  ctx: { readonly noModels: boolean; readonly only: ReturnType<typeof parseOnly> | undefined; readonly fileDir: string; readonly configPath: string | undefined },
): ModelSpec[] {
  // A pure router loads nothing, whatever the file lists (one config can serve every pod).
  let models: ModelSpec[];
  if (ctx.noModels) {
    models = [];
  } else if (file.models === undefined) {
    models = defaultModelSpecs();
  } else {
    models = compileModelSpecs(file.models, ctx.fileDir);
  }
  if (ctx.only !== undefined) {
    if (ctx.noModels) throw new ConfigError(`${ONLY_FLAG}: not with --no-models (a pure router hosts nothing)`);
    models = selectModelsFor(models, ctx.only, ctx.configPath === undefined || file.models === undefined ? 'the embedded default' : ctx.configPath);
  }
  return models;
}

export function compileNodeOptions(flags: NodeFlags, env: CompileEnv = { cwd: process.cwd() }): NodeOptions {
  const home = env.home ?? homedir();
  let file: ConfigFile = {};
  let fileDir = env.cwd;
  let configPath: string | undefined;
  if (flags.config !== undefined) {
    configPath = path.resolve(env.cwd, flags.config);
    fileDir = path.dirname(configPath);
    file = parseOrThrow(configFileSchema, readConfigFile(configPath), (p) => p || '(config file)');
  }
  const node = file.node ?? {};

  const flag = <K extends keyof typeof FIELDS>(key: K, value: unknown): FieldValue<K> | undefined =>
    value === undefined ? undefined : parseOrThrow(FIELDS[key], value, (p) => `${FLAG_NAMES[key]}${p.replace(/^\[\d+\]$/, '')}`) as FieldValue<K>;
  const list = (v: readonly string[] | undefined): readonly string[] | undefined => (v === undefined || v.length === 0 ? undefined : v);

  const grpcText = flag('grpc', flags.grpc) ?? node.grpc ?? DEFAULT_GRPC;
  const address = parseHostPort(grpcText);
  if (!address) throw new ConfigError(`grpc: '${grpcText}' is not HOST:PORT`);

  const httpText = flag('http', flags.http) ?? node.http;
  const httpAddress = httpText === undefined ? undefined : parseHostPort(httpText);

  const dataDirFlag = flag('dataDir', flags.dataDir);
  const dataDir = dataDirFlag !== undefined
    ? resolveDir(dataDirFlag, env.cwd, home)
    : resolveDir(node.dataDir ?? DEFAULT_DATA_DIR, fileDir, home);

  const p2pFile = node.p2p ?? {};
  const noModels = flags.noModels ?? p2pFile.noModels ?? false;
  const only = flags.only === undefined ? undefined : parseOnly(flags.only);
  const models = compileModels(file, { noModels, only, fileDir, configPath });
  // An ephemeral gRPC port (tests, several nodes on one host) gets an ephemeral p2p port too.
  const defaultListen = address.port === 0 ? ['/ip4/127.0.0.1/tcp/0'] : [DEFAULT_LISTEN];
  const p2p: P2POptions = {
    listen: flag('listen', list(flags.listen)) ?? p2pFile.listen ?? defaultListen,
    bootstrap: flag('bootstrap', list(flags.bootstrap)) ?? p2pFile.bootstrap ?? [],
    static: flags.static ?? p2pFile.static ?? false,
    noModels,
    routing: {
      policy: flag('routingPolicy', flags.routingPolicy) ?? node.routing?.policy ?? 'plexus',
      refreshMs: node.routing?.refreshMs ?? DEFAULT_REFRESH_MS,
      ...(node.routing?.maxOriginsPerCapability === undefined ? {} : { maxOriginsPerCapability: node.routing.maxOriginsPerCapability }),
    },
    members: compileMembership({ flags, node, p2p: p2pFile, fileDir, cwd: env.cwd }),
    verify: { rate: node.verify?.rate ?? DEFAULT_VERIFY_RATE, tolerances: node.verify?.tolerances ?? {} },
    limits: compilePeerLimits(p2pFile.limits ?? {}),
    connections: compileConnections(p2pFile.connections ?? {}),
  };
  const security = compileSecurity({ flags, node, p2p: p2pFile, fileDir, cwd: env.cwd });

  const otlpEndpoint = flag('otlpEndpoint', flags.otlpEndpoint) ?? node.tracing?.otlpEndpoint;
  return {
    grpc: {
      address,
      maxMessageBytes: flag('maxMessageBytes', flags.maxMessageBytes) ?? node.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      maxStreamInFlight: node.maxStreamInFlight ?? DEFAULT_MAX_STREAM_IN_FLIGHT,
    },
    dataDir,
    logLevel: flag('logLevel', flags.logLevel) ?? node.logLevel ?? DEFAULT_LOG_LEVEL,
    shutdownGraceMs: node.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    models,
    inference: compileInferenceSettings(file.inference),
    p2p,
    jobs: compileJobsOptions(node.jobs),
    ...(httpAddress === undefined ? {} : { http: { address: httpAddress } }),
    ...(configPath === undefined ? {} : { configFile: configPath }),
    ...(otlpEndpoint === undefined ? {} : { tracing: { otlpEndpoint } }),
    ...(only === undefined ? {} : { only }),
    limits: compileLimits(node.limits),
    security,
  };
}
