// The KServe v2 model repository extension over REST, mounted as extra routes on the HTTP port:
//   POST /v2/repository/index                      {"ready": bool}? -> [{name, version, state, reason}]
//   POST /v2/repository/models/{name}/load         {"parameters": {"config": "<JSON model entry>"}}?
//   POST /v2/repository/models/{name}/unload       {"parameters": {"unload_dependents": bool}}?
// Errors answer {"error": message} with the status errors.ts maps the error kind to.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidInputError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ModelRepository } from '../model-repository.ts';
import { BodyTooLargeError, toHttpError } from './errors.ts';
import { refuseCrossSite } from './hardening.ts';
import { readBody } from './server.ts';

/** Load/unload/index bodies are small: a config entry at most. */
const MAX_BODY_BYTES = 256 * 1024;

type Route = { readonly kind: 'index' } | { readonly kind: 'load' | 'unload'; readonly name: string };

function parseRoute(pathname: string): Route | undefined {
  if (pathname === '/v2/repository/index') return { kind: 'index' };
  const m = /^\/v2\/repository\/models\/([^/]+)\/(load|unload)$/.exec(pathname);
  if (m === null || m[1] === undefined) return undefined;
  return { kind: m[2] === 'load' ? 'load' : 'unload', name: decodeURIComponent(m[1]) };
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const buf = await readBody(req, MAX_BODY_BYTES);
  if (buf.byteLength === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new InvalidInputError(`request body is not valid JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidInputError('request body: expected a JSON object');
  return v as Record<string, unknown>;
}

function parameters(body: Record<string, unknown>): Record<string, unknown> {
  const p = body.parameters;
  if (p === undefined) return {};
  if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new InvalidInputError('parameters: expected a JSON object');
  return p as Record<string, unknown>;
}

function only(params: Record<string, unknown>, key: string, type: 'string' | 'boolean'): unknown {
  for (const k of Object.keys(params)) if (k !== key) throw new InvalidInputError(`parameters.${k}: not supported (supported: '${key}')`);
  const v = params[key];
  if (v !== undefined && typeof v !== type) throw new InvalidInputError(`parameters.${key}: expected a ${type}`);
  return v;
}

/** Extra routes for the HTTP server: true when the request was a repository call (answered async). */
export function createRepositoryRoutes(deps: { readonly repository: ModelRepository; readonly logger: Logger }) {
  const { repository, logger } = deps;
  async function handle(route: Route, req: IncomingMessage): Promise<{ status: number; json?: unknown }> {
    const body = await jsonBody(req);
    if (route.kind === 'index') {
      const ready = body.ready;
      if (ready !== undefined && typeof ready !== 'boolean') throw new InvalidInputError('ready: expected a boolean');
      return { status: 200, json: repository.index(ready === true) };
    }
    if (route.kind === 'load') {
      const config = only(parameters(body), 'config', 'string');
      await repository.load(route.name, typeof config === 'string' ? { config } : {});
    } else {
      const dependents = only(parameters(body), 'unload_dependents', 'boolean');
      await repository.unload(route.name, { dependents: dependents === true });
    }
    return { status: 200 };
  }

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const route = parseRoute(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (route === undefined) return false;
    const send = (status: number, json?: unknown, headers: Record<string, string> = {}): void => {
      if (res.headersSent || res.destroyed) return;
      const text = json === undefined ? '' : JSON.stringify(json);
      res.writeHead(status, { ...(json === undefined ? {} : { 'Content-Type': 'application/json' }), 'Content-Length': Buffer.byteLength(text), ...headers });
      res.end(text);
    };
    if (req.method !== 'POST') {
      send(405, { error: `use POST ${req.url ?? ''}` }, { Allow: 'POST' });
      return true;
    }
    const refusal = refuseCrossSite(req);
    if (refusal !== undefined) {
      // The body is not read: close the connection after answering.
      send(refusal.status, { error: refusal.message }, { Connection: 'close' });
      return true;
    }
    handle(route, req).then(
      (r) => send(r.status, r.json),
      (e: unknown) => {
        const { status, message } = e instanceof BodyTooLargeError ? { status: 413, message: e.message } : toHttpError(e);
        if (status >= 500) logger.error({ err: e, url: req.url }, 'repository call failed');
        send(status, { error: message }, status === 413 ? { Connection: 'close' } : {});
      },
    );
    return true;
  };
}
