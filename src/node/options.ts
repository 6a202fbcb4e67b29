// User options (CLI flags + optional YAML/JSON config file) compiled ONCE into a validated
// NodeOptions before anything binds a port. Flags override the file's `node:` section.
// Every failure is a ConfigError naming the field (`node.grpc`, `--grpc`, `models[0].path`).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { compileInferenceSettings, compileModelSpecs, defaultModelSpecs, type InferenceSettings, type ModelSpec } from '../inference/index.ts';
import { DEFAULT_PEER_LIMITS, type PeerLimits } from '../routing/peer-limits.ts';
import { ROUTING_POLICIES, type RoutingPolicy } from '../routing/policies.ts';
import { parseHostPort, type HostPort } from './grpc/address.ts';
import type { HttpLimits } from './http/hardening.ts';
import type { InputLimits } from './input-limits.ts';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './p2p/conn-policy.ts';
import { checkBootstrapAddr, checkListenAddr } from './p2p/multiaddrs.ts';
import { compileMembership, compileSecurity, NODE_SECURITY_FIELDS, P2P_SECURITY_FIELDS, type MembershipOptions, type SecurityFlags, type SecurityOptions } from './auth/options.ts';
import { DEFAULT_VERIFY_RATE } from './verify/verifier.ts';
import { compileJobsOptions, jobsSectionSchema, type JobsOptions } from './jobs/options.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_GRPC = '127.0.0.1:8001';
export const DEFAULT_DATA_DIR = '~/.plexus';
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_P2P_PORT = 4001;
// Loopback: a node reachable from other machines must say who may join (--swarm-key,
// --allow-peer) or that it is open (--open); see src/node/auth/exposure.ts.
export const DEFAULT_LISTEN = `/ip4/127.0.0.1/tcp/${DEFAULT_P2P_PORT}`;
// Changes are sent at once (triggered updates); the periodic full dump only keeps routes alive,
// and at 2 s it was most of an idle node's CPU in a 20-node cluster (20 idle daemons: 1.96 ->
// 1.25 cores at 5 s; 30 s: the idle bench scenario). Dead peers are found by disconnects and
// missed pings, not by expiry (routes are held 3 refreshes).
export const DEFAULT_REFRESH_MS = 30_000;
const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

/** Limits on client input and on the HTTP port (`node.limits` in the config file; README "Limits"). */
export type NodeLimits = InputLimits & HttpLimits;
export const DEFAULT_LIMITS: NodeLimits = {
  maxTypedElements: 4 * 1024 * 1024,
  maxBytesElements: 65_536,
  maxInflightInputBytes: 512 * 1024 * 1024,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 60_000,
  httpKeepAliveTimeoutMs: 5_000,
  httpMaxConnections: 512,
};

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
}

const hostPort = z.string().refine((s) => parseHostPort(s) !== undefined, 'expected HOST:PORT with a port in 0..65535');
const FIELDS = {
  grpc: hostPort,
  http: hostPort,
  dataDir: z.string().min(1).max(4096),
  logLevel: z.enum(LOG_LEVELS),
  maxMessageBytes: z.coerce.number().int().min(1024).max(2 ** 31 - 1),
  maxStreamInFlight: z.int().min(1).max(4096),
  shutdownGraceMs: z.int().min(0).max(600_000),
  listen: z.array(z.string().max(512).superRefine(refineAddr(checkListenAddr))).min(1).max(16),
  bootstrap: z.array(z.string().max(512).superRefine(refineAddr(checkBootstrapAddr))).max(256),
  routingPolicy: z.enum(ROUTING_POLICIES as [RoutingPolicy, ...RoutingPolicy[]]),
  otlpEndpoint: z.string().max(2048).refine(isHttpUrl, 'expected an http:// or https:// URL'),
};

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** A multiaddr check (returns why it is unusable, or undefined) as a zod refinement. */
function refineAddr(check: (s: string) => string | undefined) {
  return (s: string, ctx: z.core.$RefinementCtx<string>): void => {
    const why = check(s);
    if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
  };
}

const limit = (min: number, max: number) => z.int().min(min).max(max).optional();
const peerLimitsSectionSchema = z.strictObject({
  maxFrameBytes: limit(64 * 1024, 64 * 1024 * 1024),
  maxAdvertBytes: limit(1024, 16 * 1024 * 1024),
  maxModelsPerAdvert: limit(1, 256),
  maxCapabilitiesPerAdvert: limit(1, 16_384),
  maxOriginsPerNeighbour: limit(1, 1_000_000),
  maxOrigins: limit(1, 1_000_000),
  advertsPerSecond: limit(1, 1_000_000),
  advertBurst: limit(1, 1_000_000),
  hintAddrsPerOrigin: limit(0, 16),
  hintDialsPerSecond: limit(1, 10_000),
  hintDialBurst: limit(1, 10_000),
  hintDialsConcurrent: limit(1, 1024),
  hintBackoffMinMs: limit(1, 3_600_000),
  hintBackoffMaxMs: limit(1, 86_400_000),
});
const connectionsSectionSchema = z.strictObject({
  maxConnections: limit(2, 100_000),
  reservedConnections: limit(0, 100_000),
  maxInboundPerIp: limit(1, 100_000),
  maxConnectionsPerPeer: limit(1, 64),
  evictMinAgeMs: limit(0, 3_600_000),
});
const p2pSectionSchema = z.strictObject({
  listen: FIELDS.listen.optional(),
  bootstrap: FIELDS.bootstrap.optional(),
  static: z.boolean().optional(),
  noModels: z.boolean().optional(),
  ...P2P_SECURITY_FIELDS,
  limits: peerLimitsSectionSchema.optional(),
  connections: connectionsSectionSchema.optional(),
});
const routingSectionSchema = z.strictObject({
  policy: FIELDS.routingPolicy.optional(),
  refreshMs: z.int().min(100).max(600_000).optional(),
});
const tracingSectionSchema = z.strictObject({
  otlpEndpoint: FIELDS.otlpEndpoint.optional(),
});
const limitsSectionSchema = z.strictObject({
  maxTypedElements: z.int().min(1).max(2 ** 31),
  maxBytesElements: z.int().min(1).max(2 ** 31),
  maxInflightInputBytes: z.int().min(1024).max(2 ** 42),
  httpHeadersTimeoutMs: z.int().min(100).max(600_000),
  httpRequestTimeoutMs: z.int().min(100).max(3_600_000),
  httpKeepAliveTimeoutMs: z.int().min(0).max(600_000),
  httpMaxConnections: z.int().min(1).max(1_000_000),
}).partial();
const verifySectionSchema = z.strictObject({
  rate: z.number().min(0).max(1).optional(),
  tolerances: z.record(z.string().max(256), z.number().min(0).max(1e6)).optional(),
});
const nodeSectionSchema = z.strictObject({
  grpc: FIELDS.grpc.optional(),
  http: FIELDS.http.optional(),
  dataDir: FIELDS.dataDir.optional(),
  logLevel: FIELDS.logLevel.optional(),
  maxMessageBytes: FIELDS.maxMessageBytes.optional(),
  maxStreamInFlight: FIELDS.maxStreamInFlight.optional(),
  shutdownGraceMs: FIELDS.shutdownGraceMs.optional(),
  p2p: p2pSectionSchema.optional(),
  routing: routingSectionSchema.optional(),
  tracing: tracingSectionSchema.optional(),
  limits: limitsSectionSchema.optional(),
  ...NODE_SECURITY_FIELDS,
  verify: verifySectionSchema.optional(),
  jobs: jobsSectionSchema.optional(),
});
const configFileSchema = z.strictObject({
  node: nodeSectionSchema.optional(),
  // Validated by compileModelSpecs, which knows the model schema.
  models: z.unknown().optional(),
  // Validated by compileInferenceSettings (src/inference/config.ts, where its defaults live).
  inference: z.unknown().optional(),
});

const FLAG_NAMES: Readonly<Record<keyof typeof FIELDS, string>> = {
  grpc: '--grpc', http: '--http', dataDir: '--data-dir', logLevel: '--log-level', maxMessageBytes: '--max-message-bytes',
  maxStreamInFlight: '--max-stream-in-flight', shutdownGraceMs: '--shutdown-grace-ms',
  listen: '--listen', bootstrap: '--bootstrap', routingPolicy: '--routing-policy', otlpEndpoint: '--otlp-endpoint',
};

export interface CompileEnv {
  readonly cwd: string;
  readonly home?: string;
}

export function compileNodeOptions(flags: NodeFlags, env: CompileEnv = { cwd: process.cwd() }): NodeOptions {
  const home = env.home ?? homedir();
  let file: z.output<typeof configFileSchema> = {};
  let fileDir = env.cwd;
  let configPath: string | undefined;
  if (flags.config !== undefined) {
    configPath = path.resolve(env.cwd, flags.config);
    fileDir = path.dirname(configPath);
    file = parseOrThrow(configFileSchema, readConfigFile(configPath), (p) => p || '(config file)');
  }
  const node = file.node ?? {};

  const flag = <K extends keyof typeof FIELDS>(key: K, value: unknown): z.output<(typeof FIELDS)[K]> | undefined =>
    value === undefined ? undefined : parseOrThrow(FIELDS[key], value, (p) => `${FLAG_NAMES[key]}${p.replace(/^\[\d+\]$/, '')}`) as z.output<(typeof FIELDS)[K]>;
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
  // A pure router loads nothing, whatever the file lists (one config can serve every pod).
  let models: ModelSpec[];
  if (noModels) {
    models = [];
  } else if (file.models === undefined) {
    models = defaultModelSpecs();
  } else {
    models = compileModelSpecs(file.models, fileDir);
  }
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
      maxStreamInFlight: node.maxStreamInFlight ?? 16,
    },
    dataDir,
    logLevel: flag('logLevel', flags.logLevel) ?? node.logLevel ?? 'info',
    shutdownGraceMs: node.shutdownGraceMs ?? 10_000,
    models,
    inference: compileInferenceSettings(file.inference),
    p2p,
    jobs: compileJobsOptions(node.jobs),
    ...(httpAddress === undefined ? {} : { http: { address: httpAddress } }),
    ...(configPath === undefined ? {} : { configFile: configPath }),
    ...(otlpEndpoint === undefined ? {} : { tracing: { otlpEndpoint } }),
    limits: compileLimits(node.limits),
    security,
  };
}

function compileLimits(file: { readonly [K in keyof NodeLimits]?: NodeLimits[K] | undefined } | undefined): NodeLimits {
  const given = Object.fromEntries(Object.entries(file ?? {}).filter(([, v]) => v !== undefined)) as Partial<NodeLimits>;
  const limits = { ...DEFAULT_LIMITS, ...given };
  if (limits.httpHeadersTimeoutMs > limits.httpRequestTimeoutMs) {
    throw new ConfigError(`node.limits.httpHeadersTimeoutMs: ${limits.httpHeadersTimeoutMs} is longer than httpRequestTimeoutMs (${limits.httpRequestTimeoutMs}); headers are part of the request`);
  }
  return limits;
}

/** The file's `node.p2p.limits` over the defaults; ConfigError when they contradict each other. */
function compilePeerLimits(given: z.output<typeof peerLimitsSectionSchema>): PeerLimits {
  const set = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<PeerLimits>;
  const limits: PeerLimits = { ...DEFAULT_PEER_LIMITS, ...set };
  if (limits.maxAdvertBytes > limits.maxFrameBytes / 2) {
    throw new ConfigError(`node.p2p.limits.maxAdvertBytes: ${limits.maxAdvertBytes} must be at most half of maxFrameBytes (${limits.maxFrameBytes}), so every advert fits a frame`);
  }
  if (limits.hintBackoffMaxMs < limits.hintBackoffMinMs) throw new ConfigError('node.p2p.limits.hintBackoffMaxMs: must be >= hintBackoffMinMs');
  return limits;
}

function compileConnections(given: z.output<typeof connectionsSectionSchema>): ConnectionLimits {
  const set = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<ConnectionLimits>;
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...set };
  if (limits.reservedConnections >= limits.maxConnections) {
    throw new ConfigError(`node.p2p.connections.reservedConnections: ${limits.reservedConnections} must be below maxConnections (${limits.maxConnections})`);
  }
  return limits;
}

/** YAML or JSON (JSON is YAML); ConfigError when unreadable or malformed. */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.byteLength > MAX_CONFIG_FILE_BYTES) throw new Error(`larger than ${MAX_CONFIG_FILE_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (e) {
    throw new ConfigError(`--config: cannot read '${file}': ${(e as Error).message}`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (e) {
    throw new ConfigError(`--config: '${file}' is not valid YAML or JSON: ${(e as Error).message}`);
  }
}

function resolveDir(dir: string, base: string, home: string): string {
  if (dir === '~') return home;
  if (dir.startsWith('~/')) return path.join(home, dir.slice(2));
  return path.resolve(base, dir);
}

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, name: (issuePath: string) => string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const issuePath = (issue?.path ?? []).map((s) => (typeof s === 'number' ? `[${s}]` : String(s))).join('.').replace(/\.\[/g, '[');
  throw new ConfigError(`${name(issuePath)}: ${describe(issue)}`);
}

function describe(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid';
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_value') return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}`;
  return issue.message;
}
