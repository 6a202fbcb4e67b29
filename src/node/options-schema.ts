// The schema of what a user can set: each flag's value and the config file's `node:` section
// (zod, strict: an unknown field is an error naming it). Defaults are not here: node-defaults.ts.
import * as z from 'zod';
import { ROUTING_POLICIES, type RoutingPolicy } from '../routing/policies.ts';
import { NODE_SECURITY_FIELDS, P2P_SECURITY_FIELDS } from './auth/options.ts';
import { parseHostPort } from '../wire/address.ts';
import { jobsSectionSchema } from './jobs/options.ts';
import { LOG_LEVELS } from './node-defaults.ts';
import { checkBootstrapAddr, checkListenAddr } from './p2p/multiaddrs.ts';

const hostPort = z.string().refine((s) => parseHostPort(s) !== undefined, 'expected HOST:PORT with a port in 0..65535');

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

/** Fields a flag and the file can both set: one schema for both. */
export const FIELDS = {
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

export const FLAG_NAMES: Readonly<Record<keyof typeof FIELDS, string>> = {
  grpc: '--grpc', http: '--http', dataDir: '--data-dir', logLevel: '--log-level', maxMessageBytes: '--max-message-bytes',
  maxStreamInFlight: '--max-stream-in-flight', shutdownGraceMs: '--shutdown-grace-ms',
  listen: '--listen', bootstrap: '--bootstrap', routingPolicy: '--routing-policy', otlpEndpoint: '--otlp-endpoint',
};

const limit = (min: number, max: number) => z.int().min(min).max(max).optional();
export const peerLimitsSectionSchema = z.strictObject({
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
export const connectionsSectionSchema = z.strictObject({
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
  maxOriginsPerCapability: z.int().min(1).max(4096).optional(),
});
const tracingSectionSchema = z.strictObject({
  otlpEndpoint: FIELDS.otlpEndpoint.optional(),
});
export const limitsSectionSchema = z.strictObject({
  maxTypedElements: z.int().min(1).max(2 ** 31),
  maxBytesElements: z.int().min(1).max(2 ** 31),
  maxInflightInputBytes: z.int().min(1024).max(2 ** 42),
  maxRequestInputBytes: z.int().min(1024).max(2 ** 42),
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
export const configFileSchema = z.strictObject({
  node: nodeSectionSchema.optional(),
  // Validated by compileModelSpecs, which knows the model schema.
  models: z.unknown().optional(),
  // Validated by compileInferenceSettings (src/inference/config.ts, where its defaults live).
  inference: z.unknown().optional(),
});
export type ConfigFile = z.output<typeof configFileSchema>;
