// The helpers of the options compiler (options.ts): reading the config file, zod failures as
// ConfigErrors naming the field, directories, and the limit sections over their defaults with
// the checks that tie their values together.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type * as z from 'zod';
import { ConfigError } from '../errors.ts';
import { DEFAULT_PEER_LIMITS, type PeerLimits } from '../routing/peer-limits.ts';
import { DEFAULT_LIMITS, type NodeLimits } from './node-defaults.ts';
import type { connectionsSectionSchema, peerLimitsSectionSchema } from './options-schema.ts';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './p2p/conn-policy.ts';

const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

export function compileLimits(file: { readonly [K in keyof NodeLimits]?: NodeLimits[K] | undefined } | undefined): NodeLimits {
  const given = Object.fromEntries(Object.entries(file ?? {}).filter(([, v]) => v !== undefined)) as Partial<NodeLimits>;
  const limits = { ...DEFAULT_LIMITS, ...given };
  if (limits.httpHeadersTimeoutMs > limits.httpRequestTimeoutMs) {
    throw new ConfigError(`node.limits.httpHeadersTimeoutMs: ${limits.httpHeadersTimeoutMs} is longer than httpRequestTimeoutMs (${limits.httpRequestTimeoutMs}); headers are part of the request`);
  }
  return limits;
}

/** The file's `node.p2p.limits` over the defaults; ConfigError when they contradict each other. */
export function compilePeerLimits(given: z.output<typeof peerLimitsSectionSchema>): PeerLimits {
  const set = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<PeerLimits>;
  const limits: PeerLimits = { ...DEFAULT_PEER_LIMITS, ...set };
  if (limits.maxAdvertBytes > limits.maxFrameBytes / 2) {
    throw new ConfigError(`node.p2p.limits.maxAdvertBytes: ${limits.maxAdvertBytes} must be at most half of maxFrameBytes (${limits.maxFrameBytes}), so every advert fits a frame`);
  }
  if (limits.hintBackoffMaxMs < limits.hintBackoffMinMs) throw new ConfigError('node.p2p.limits.hintBackoffMaxMs: must be >= hintBackoffMinMs');
  return limits;
}

export function compileConnections(given: z.output<typeof connectionsSectionSchema>): ConnectionLimits {
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

export function resolveDir(dir: string, base: string, home: string): string {
  if (dir === '~') return home;
  if (dir.startsWith('~/')) return path.join(home, dir.slice(2));
  return path.resolve(base, dir);
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, name: (issuePath: string) => string): z.output<S> {
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
