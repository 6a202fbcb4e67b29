// The node's web dashboard: GET / and /dashboard (the page), /dashboard/assets/* (the page's
// ES modules and the pinned cytoscape / chart.js builds, read from this package and from
// node_modules: nothing is fetched from the internet), and the read-only JSON it polls,
// /api/cluster and /api/stats. Only a fixed list of asset names is served, so a path can never
// reach another file. The handler answers synchronously-routed requests and says whether the
// request was its own, so the HTTP server can fall through to /metrics and /v2.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../../logger.ts';
import { clusterSnapshot, statsSnapshot, type ClusterApiDeps } from '../cluster-api.ts';

/** Answers the request and returns true when it is the dashboard's; false leaves it untouched. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface DashboardInit extends ClusterApiDeps {
  readonly logger: Logger;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ASSET_DIR = path.join(HERE, 'assets');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Directory of a dependency's main file (resolved like Node would, so hoisting does not matter). */
function packageDist(name: string): string {
  return path.dirname(createRequire(import.meta.url).resolve(name));
}

/** Asset name under /dashboard/assets/ -> file on disk. */
function assetFiles(): ReadonlyMap<string, string> {
  const own = ['index.html', 'app.js', 'graph.js', 'charts.js', 'routes-table.js', 'jobs-table.js', 'query.js', 'query-answer.js', 'style.css'];
  return new Map([
    ...own.map((f) => [f, path.join(ASSET_DIR, f)] as const),
    // cytoscape's require entry is dist/cytoscape.cjs.js; chart.js's is dist/chart.cjs.
    ['cytoscape.esm.min.mjs', path.join(packageDist('cytoscape'), 'cytoscape.esm.min.mjs')],
    ['chart.umd.min.js', path.join(packageDist('chart.js'), 'chart.umd.min.js')],
  ]);
}

// The page loads only from this origin; the libraries set inline styles through the DOM.
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

function reply(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...SECURITY_HEADERS, ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function replyJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  reply(req, res, status, 'application/json', JSON.stringify(value), { 'Cache-Control': 'no-store', ...headers });
}

export function createDashboardHandler(init: DashboardInit): RequestHandler {
  const files = assetFiles();
  // Assets are read once and kept: a few hundred kB, asked for by every page load.
  const cache = new Map<string, Promise<Buffer>>();
  const load = (name: string, file: string): Promise<Buffer> => {
    let p = cache.get(name);
    if (p === undefined) {
      p = readFile(file);
      cache.set(name, p);
      p.catch(() => cache.delete(name)); // a failed read is retried on the next request
    }
    return p;
  };

  function serveAsset(req: IncomingMessage, res: ServerResponse, name: string): void {
    const file = files.get(name);
    if (file === undefined) {
      replyJson(req, res, 404, { error: `no such dashboard asset: ${name.slice(0, 100)}` });
      return;
    }
    load(name, file).then(
      (body) => reply(req, res, 200, CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream', body, { 'Cache-Control': 'no-cache' }),
      (e: unknown) => {
        init.logger.error({ err: e, asset: name }, 'dashboard asset unreadable');
        replyJson(req, res, 500, { error: `dashboard asset ${name} is unreadable` });
      },
    );
  }

  function serveStats(req: IncomingMessage, res: ServerResponse): void {
    statsSnapshot(init.registry?.()).then(
      (stats) => replyJson(req, res, 200, stats),
      (e: unknown) => {
        init.logger.error({ err: e }, 'dashboard stats failed');
        replyJson(req, res, 500, { error: 'stats unavailable' });
      },
    );
  }

  return (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const page = pathname === '/' || pathname === '/dashboard' || pathname === '/dashboard/';
    const asset = pathname.startsWith('/dashboard/assets/') ? pathname.slice('/dashboard/assets/'.length) : undefined;
    const api = pathname === '/api/cluster' || pathname === '/api/stats';
    if (!page && asset === undefined && !api) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      replyJson(req, res, 405, { error: `the dashboard is read-only: use GET ${pathname.slice(0, 100)}` }, { Allow: 'GET, HEAD' });
      return true;
    }
    if (page) serveAsset(req, res, 'index.html');
    else if (asset !== undefined) serveAsset(req, res, asset);
    else if (pathname === '/api/cluster') replyJson(req, res, 200, clusterSnapshot(init));
    else serveStats(req, res);
    return true;
  };
}
