// Every default of a node's own options, defined here ONCE (no dependencies, so the CLI, the p2p
// service and the routes protocol can read them without loading the options compiler). The
// compiler (options.ts) fills a NodeOptions from them; the parts fall back to the same values
// when embedded without one. README's Configuration and Limits tables document them, and
// test/node/documented-defaults.test.ts holds the two equal.
import type { HttpLimits } from './http/hardening.ts';
import type { InputLimits } from './input-limits.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_GRPC = '127.0.0.1:8001';
export const DEFAULT_DATA_DIR = '~/.plexus';
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export { DEFAULT_MAX_MESSAGE_BYTES } from '../wire/limits.ts';
export const DEFAULT_MAX_STREAM_IN_FLIGHT = 16;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
export const DEFAULT_P2P_PORT = 4001;
// Loopback: a node reachable from other machines must say who may join (--swarm-key,
// --allow-peer) or that it is open (--open); see src/node/auth/exposure.ts.
export const DEFAULT_LISTEN = `/ip4/127.0.0.1/tcp/${DEFAULT_P2P_PORT}`;
export { DEFAULT_REFRESH_MS } from '../routing/routes-timing.ts';

/** Limits on client input and on the HTTP port (`node.limits` in the config file; README "Limits"). */
export type NodeLimits = InputLimits & HttpLimits;
export const DEFAULT_LIMITS: NodeLimits = {
  maxTypedElements: 4 * 1024 * 1024,
  maxBytesElements: 65_536,
  maxInflightInputBytes: 512 * 1024 * 1024,
  maxRequestInputBytes: 128 * 1024 * 1024,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 60_000,
  httpKeepAliveTimeoutMs: 5_000,
  httpMaxConnections: 512,
};

/**
 * Room a forward frame needs beside the tensors of one message: its type, correlation id and
 * header length (9 bytes), and the header (query id, route, parameters: at most 64, each key
 * ≤ 128 and value ≤ 4,096 chars, tensor descriptors, trace and proof fields, and in 2.0.0 up to
 * 7 bytes of padding after the header and before each tensor).
 */
export const FORWARD_FRAME_OVERHEAD_BYTES = 1024 * 1024;

/**
 * The largest `/plexus/forward` frame (either version), sent or accepted, derived from the one message
 * limit: a request this node accepts (≤ maxMessageBytes) always fits the frame that forwards it,
 * and a node never sends a frame its neighbour (same setting) would refuse.
 */
export function forwardFrameBytes(maxMessageBytes: number): number {
  return maxMessageBytes + FORWARD_FRAME_OVERHEAD_BYTES;
}
