// The node's HTTP port (node:http, no framework): Prometheus metrics at GET /metrics and the
// KServe v2 HTTP/REST protocol under /v2 (see rest-handlers.ts). Request bodies are bounded
// (413 past the limit); stop() stops accepting, lets in-flight requests finish for a grace
// period, then closes every connection.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../logger.ts';
import { formatHostPort, type HostPort } from '../../wire/address.ts';
import { BodyTooLargeError } from './errors.ts';
import { applyHttpLimits, type HttpLimits } from './hardening.ts';
import { createRestHandlers, type Reply, type RestDeps } from './rest-handlers.ts';

// node:http through getBuiltinModule, not an ESM import: Node builds an ES module's namespace of
// node:http by reading every export, and its lazy WebSocket/MessageEvent getters then load the whole
// undici bundle (~10 MB resident, measured on Node 22) that this server never uses.
const { createServer } = process.getBuiltinModule('node:http');

export interface HttpServerInit extends RestDeps {
  readonly address: HostPort;
  /** Largest request body accepted; bigger ones get 413. */
  readonly maxBodyBytes: number;
  /** The Prometheus exposition for GET /metrics. */
  readonly scrape: () => Promise<{ readonly contentType: string; readonly body: string }>;
  readonly logger: Logger;
  /** Routes tried before /metrics and /v2 (the dashboard); returns true when it answered. */
  readonly extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Time limits and connection cap (hardening.ts); absent = 30 s for headers, 60 s for the request. */
  readonly limits?: HttpLimits;
  /** Serve HTTPS (and mutual TLS) with these options (src/node/auth/tls.ts); default plain HTTP. */
  readonly tls?: HttpsOptions;
}

export interface HttpServer {
  /** Binds and serves; resolves with the bound HOST:PORT (the real port when 0 was asked). */
  start(): Promise<string>;
  /** Refuse new inference (503) and report not ready; metrics and liveness keep answering. */
  drain(): void;
  /** Stops accepting; waits up to graceMs for in-flight requests, then closes every connection. */
  stop(graceMs: number): Promise<void>;
}

/** Reads the whole body, refusing more than `max` bytes (declared or sent). */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > max) return Promise.reject(new BodyTooLargeError(`request body is ${declared} bytes; at most ${max} are accepted`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > max) {
        failed = true;
        chunks.length = 0;
        reject(new BodyTooLargeError(`request body is over ${max} bytes; at most ${max} are accepted`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => { if (!failed) resolve(Buffer.concat(chunks, size)); });
    req.on('error', (e) => { if (!failed) { failed = true; reject(e); } });
  });
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  let body = '';
  let contentType: string | undefined;
  if (reply.text !== undefined) {
    body = reply.text.body;
    contentType = reply.text.contentType;
  } else if (reply.json !== undefined) {
    body = JSON.stringify(reply.json);
    contentType = 'application/json';
  }
  res.writeHead(reply.status, {
    ...(contentType !== undefined ? { 'Content-Type': contentType } : {}),
    'Content-Length': Buffer.byteLength(body),
    ...reply.headers,
  });
  res.end(body);
}

export function createHttpServer(init: HttpServerInit): HttpServer {
  return new HttpServerCore(init);
}

type NodeServer = ReturnType<typeof createServer> | ReturnType<typeof createHttpsServer>;

class HttpServerCore implements HttpServer {
  readonly #init: HttpServerInit;
  readonly #logger: Logger;
  readonly #rest: ReturnType<typeof createRestHandlers>;
  readonly #server: NodeServer;
  #inFlight = 0;
  #onIdle: (() => void) | undefined;
  #started = false;

  constructor(init: HttpServerInit) {
    this.#init = init;
    this.#logger = init.logger;
    this.#rest = createRestHandlers(init);
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => { this.#onRequest(req, res); };
    const server = init.tls === undefined ? createServer(onRequest) : createHttpsServer(init.tls, onRequest);
    // Bound how long a client may take to send its request (slowloris).
    server.requestTimeout = 60_000;
    server.headersTimeout = 30_000;
    if (init.limits !== undefined) applyHttpLimits(server, init.limits);
    this.#server = server;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<Reply> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, json: { error: 'use GET /metrics' }, headers: { Allow: 'GET, HEAD' } };
      return { status: 200, text: await this.#init.scrape() };
    }
    // The caller leaving aborts its query (and whatever the query forwarded).
    const controller = new AbortController();
    res.on('close', () => { if (!res.writableFinished) controller.abort(); });
    return this.#rest.handle({
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: req.headers,
      body: () => readBody(req, this.#init.maxBodyBytes),
      signal: controller.signal,
    });
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#inFlight++;
    res.on('close', () => {
      this.#inFlight--;
      if (this.#inFlight === 0) this.#onIdle?.();
    });
    if (this.#init.extraRoutes?.(req, res) === true) return;
    this.#handle(req, res).then(
      (reply) => send(res, reply),
      (e: unknown) => {
        if (e instanceof BodyTooLargeError) {
          // The rest of the body is not read: close the connection after answering.
          send(res, { status: 413, json: { error: e.message }, headers: { Connection: 'close' } });
          return;
        }
        this.#logger.error({ err: e, url: req.url }, 'HTTP handler failed');
        send(res, { status: 500, json: { error: `internal error: ${e instanceof Error ? e.message : String(e)}` } });
      },
    );
  }

  start(): Promise<string> {
    const { address } = this.#init;
    const server = this.#server;
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(new Error(`cannot bind HTTP on ${formatHostPort(address)}: ${e.message}`, { cause: e }));
      server.once('error', onError);
      server.listen(address.port, address.host, () => {
        server.off('error', onError);
        server.on('error', (e) => this.#logger.error({ err: e }, 'HTTP server error'));
        this.#started = true;
        const bound = formatHostPort({ host: address.host, port: (server.address() as AddressInfo).port });
        this.#logger.info({ http: bound }, 'HTTP server listening');
        resolve(bound);
      });
    });
  }

  drain(): void {
    this.#rest.drain();
  }

  async stop(graceMs: number): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#rest.drain();
    const server = this.#server;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#logger.warn({ graceMs, inFlight: this.#inFlight }, 'HTTP requests still running after the grace period; closing their connections');
          resolve();
        }, graceMs);
        this.#onIdle = () => { clearTimeout(timer); resolve(); };
      });
    }
    server.closeAllConnections();
    await closed;
  }
}
