// Limits both ends of a gRPC channel must agree on.

/** The largest gRPC message a node accepts and a client sends or receives, unless configured: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
