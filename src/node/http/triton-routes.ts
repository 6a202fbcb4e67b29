// Triton's model configuration and statistics over REST, mounted as extra routes on the HTTP port:
//   GET /v2/models/{name}[/versions/{v}]/config   -> Triton's model config JSON
//   GET /v2/models[/{name}[/versions/{v}]]/stats  -> {"model_stats": [...]}
// The same content as the gRPC ModelConfig / ModelStatistics (src/node/triton-model.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../logger.ts';
import { modelConfigFor, modelStatisticsFor, type TritonView } from '../triton-model.ts';
import { toHttpError } from './errors.ts';

type Route = { readonly kind: 'config' | 'stats'; readonly name: string; readonly version: string };

export function parseTritonPath(pathname: string): Route | undefined {
  if (pathname === '/v2/models/stats') return { kind: 'stats', name: '', version: '' };
  const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/(config|stats)$/.exec(pathname);
  if (m === null || m[1] === undefined) return undefined;
  try {
    return { kind: m[3] === 'config' ? 'config' : 'stats', name: decodeURIComponent(m[1]), version: m[2] === undefined ? '' : decodeURIComponent(m[2]) };
  } catch {
    return undefined;
  }
}

/** Extra routes for the HTTP server: true when the request was a config or stats call (answered). */
export function createTritonRoutes(deps: { readonly view: TritonView; readonly logger: Logger }) {
  const { view, logger } = deps;
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const route = parseTritonPath(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (route === undefined) return false;
    let status = 200;
    let json: unknown;
    const headers: Record<string, string> = {};
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      status = 405;
      json = { error: `use GET ${req.url ?? ''}` };
      headers.Allow = 'GET, HEAD';
    } else {
      try {
        json = route.kind === 'config' ? modelConfigFor(view, route.name, route.version) : { model_stats: modelStatisticsFor(view, route.name, route.version) };
      } catch (e) {
        const err = toHttpError(e);
        if (err.status >= 500) logger.error({ err: e, url: req.url }, 'model info call failed');
        status = err.status;
        json = { error: err.message };
      }
    }
    const text = JSON.stringify(json);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(req.method === 'HEAD' ? undefined : text);
    return true;
  };
}
