// HTTP port hardening, kept apart from the routes: time limits for slow clients, a connection
// cap, and the cross-site checks for admin endpoints (model repository load/unload/index).
import type { IncomingMessage, Server } from 'node:http';

export interface HttpLimits {
  /** Time a client has to send its request headers (slowloris): the socket is closed after. */
  readonly httpHeadersTimeoutMs: number;
  /** Time a client has to send its whole request, body included. */
  readonly httpRequestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open between requests. */
  readonly httpKeepAliveTimeoutMs: number;
  /** Open connections at most; more are closed at once by the server. */
  readonly httpMaxConnections: number;
}

export function applyHttpLimits(server: Server, limits: HttpLimits): void {
  server.headersTimeout = limits.httpHeadersTimeoutMs;
  server.requestTimeout = limits.httpRequestTimeoutMs;
  server.keepAliveTimeout = limits.httpKeepAliveTimeoutMs;
  server.maxConnections = limits.httpMaxConnections;
  // Node checks the two timeouts above only this often (default 30 s): check at their scale.
  const check = Math.max(50, Math.min(1000, Math.floor(limits.httpHeadersTimeoutMs / 4)));
  (server as Server & { connectionsCheckingInterval?: number }).connectionsCheckingInterval = check;
}

/** An answer refusing a request, or undefined when it may go on. */
export interface Refusal {
  readonly status: 403 | 415;
  readonly message: string;
}

function mediaType(req: IncomingMessage): string | undefined {
  const ct = req.headers['content-type'];
  return ct === undefined ? undefined : (ct.split(';')[0] ?? '').trim().toLowerCase();
}

/** True when the request declares no body: no chunked encoding and Content-Length absent or 0. */
function emptyBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return false;
  const len = req.headers['content-length'];
  return len === undefined || Number(len) === 0;
}

/**
 * Cross-site checks for state-changing admin endpoints. A browser marks its requests with
 * `Origin` (every cross-origin POST) or `Sec-Fetch-Site`: those must come from the node's own
 * origin (Origin's host:port equal to Host). Every request must be `application/json`, which a
 * page cannot send cross-site without a CORS preflight this server never grants, or carry no
 * Content-Type and no body at all: text/plain and form types, the "simple" types a cross-site
 * form or fetch may send without asking, are refused (415) whoever sends them.
 */
export function refuseCrossSite(req: IncomingMessage): Refusal | undefined {
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  const type = mediaType(req);
  if (origin !== undefined && !sameOrigin(origin, req.headers.host)) {
    return { status: 403, message: `cross-site request refused: Origin '${origin.slice(0, 100)}' is not this node (Host '${(req.headers.host ?? '').slice(0, 100)}')` };
  }
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return { status: 403, message: `cross-site request refused: Sec-Fetch-Site is '${site.slice(0, 40)}'` };
  }
  if (type === undefined ? !emptyBody(req) : type !== 'application/json') {
    const what = type === undefined ? 'a body without Content-Type' : `Content-Type '${type.slice(0, 100)}'`;
    return { status: 415, message: `${what} is not accepted here; send Content-Type: application/json (or no body)` };
  }
  return undefined;
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined || origin === 'null') return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
