// KServe v2 HTTP/REST endpoints. Inference goes ONLY through the QueryDispatcher, metadata
// through the ModelCatalog, exactly as the gRPC front end does. Health endpoints answer with
// an empty body: 200 = true, 503 = not ready (draining, model not ready); an unknown model is 404.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { InputLimitError, InvalidInputError, ModelNotFoundError, ShuttingDownError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ModelCatalog, QueryDispatcher } from '../dispatch.ts';
import type { EntrySpan, QueryTracer } from '../tracing/node-tracing.ts';
import { firstHeaderValue, TRACEPARENT } from '../tracing/traceparent.ts';
import { withinInputBudget, type InputBudget, type InputLimits } from '../input-limits.ts';
import { countJsonValues } from './json-prescan.ts';
import { modelMetadata, SERVER_NAME } from '../grpc/kserve.ts';
import { BodyTooLargeError, toHttpError } from './errors.ts';
import { deadlineParamMs, decodeRestInferRequest, encodeRestInferResponse } from './rest-codec.ts';
import { principalOf } from '../auth/callers.ts';
import { withTenant } from '../auth/tenant-dispatch.ts';

export const REST_EXTENSIONS: readonly string[] = ['parameters'];
/** Request header: the query's time budget in milliseconds (like plexus.deadline_ms; the tighter wins). */
export const TIMEOUT_HEADER = 'timeout';
/** Longest timeout accepted (a day), so Date arithmetic stays sane. */
const MAX_TIMEOUT_MS = 86_400_000;

/** A reply: status, JSON body (or text with its content type), extra headers. */
export interface Reply {
  readonly status: number;
  readonly json?: unknown;
  readonly text?: { readonly contentType: string; readonly body: string };
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RestDeps {
  readonly dispatcher: QueryDispatcher;
  readonly catalog: ModelCatalog;
  readonly version: string;
  readonly logger: Logger;
  /** Tracing (--otlp-endpoint); absent when off. */
  readonly tracing?: QueryTracer;
  /** Element limits for JSON tensors; absent = unchecked. */
  readonly inputLimits?: InputLimits;
  /** Node-wide budget for the inputs of unanswered requests (shared with gRPC); absent = unbounded. */
  readonly inputBudget?: InputBudget;
}

export interface RestRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  body(): Promise<Buffer>;
  readonly signal: AbortSignal;
}

type Route =
  | { readonly kind: 'server' | 'live' | 'ready' }
  | { readonly kind: 'model' | 'model-ready' | 'infer'; readonly name: string; readonly version: string | undefined };

/** /v2, /v2/health/{live,ready}, /v2/models/{name}[/versions/{v}][/ready|/infer]. */
export function parseRestPath(path: string): Route | undefined {
  const parts = path.split('/').slice(1);
  if (parts[0] !== 'v2') return undefined;
  const rest = parts.slice(1);
  if (rest.length === 0 || (rest.length === 1 && rest[0] === '')) return { kind: 'server' };
  if (rest[0] === 'health' && rest.length === 2) {
    if (rest[1] === 'live') return { kind: 'live' };
    if (rest[1] === 'ready') return { kind: 'ready' };
    return undefined;
  }
  if (rest[0] !== 'models' || rest.length < 2) return undefined;
  let name: string;
  let version: string | undefined;
  try {
    name = decodeURIComponent(rest[1] ?? '');
    if (rest[2] === 'versions') version = decodeURIComponent(rest[3] ?? '');
  } catch {
    return undefined;
  }
  if (name === '' || version === '') return undefined;
  const tail = rest.slice(version === undefined ? 2 : 4);
  if (tail.length === 0) return { kind: 'model', name, version };
  if (tail.length === 1 && tail[0] === 'ready') return { kind: 'model-ready', name, version };
  if (tail.length === 1 && tail[0] === 'infer') return { kind: 'infer', name, version };
  return undefined;
}

const error = (status: number, message: string, headers?: Record<string, string>): Reply => ({ status, json: { error: message }, ...(headers ? { headers } : {}) });
const fromError = (e: unknown): Reply => {
  const { status, message } = toHttpError(e);
  return error(status, message);
};

/** Room for the request's own fields, shapes and parameters beside its tensor elements. */
const JSON_VALUES_SLACK = 4096;

/** Refuses, before JSON.parse, a body with more values than the element limits let a request use. */
function checkJsonValues(raw: Uint8Array, limits: InputLimits): void {
  const cap = limits.maxTypedElements + limits.maxBytesElements + JSON_VALUES_SLACK;
  if (countJsonValues(raw, cap) > cap) {
    throw new InputLimitError(`request body holds more than ${cap} JSON values; at most ${cap} are accepted per REST request (limits.maxTypedElements + limits.maxBytesElements + ${JSON_VALUES_SLACK}); send large tensors over gRPC in raw_input_contents`);
  }
}

/** Absolute deadline from the timeout header and plexus.deadline_ms (the tighter), if any. */
function deadlineOf(headers: IncomingHttpHeaders, body: unknown, now: number): number | undefined {
  const header = headers[TIMEOUT_HEADER];
  let ms: number | undefined;
  if (header !== undefined) {
    const text = Array.isArray(header) ? header[0] ?? '' : header;
    if (!/^\d{1,9}$/.test(text) || Number(text) === 0 || Number(text) > MAX_TIMEOUT_MS) {
      throw new InvalidInputError(`header '${TIMEOUT_HEADER}' must be a whole number of milliseconds in 1..${MAX_TIMEOUT_MS}, got '${text.slice(0, 40)}'`);
    }
    ms = Number(text);
  }
  const param = deadlineParamMs(body);
  if (param !== undefined) ms = ms === undefined ? param : Math.min(ms, param);
  return ms === undefined ? undefined : now + ms;
}

export function createRestHandlers(deps: RestDeps): { handle(req: RestRequest): Promise<Reply>; drain(): void } {
  const { dispatcher, catalog, logger } = deps;
  let draining = false;

  async function infer(req: RestRequest, name: string, version: string | undefined): Promise<Reply> {
    if (draining) throw new ShuttingDownError('the node is shutting down and accepts no new queries');
    const span = deps.tracing?.startQuery('http', firstHeaderValue(req.headers[TRACEPARENT]));
    try {
      return await inferTraced(req, name, version, span);
    } catch (e) {
      span?.fail(e);
      throw e;
    }
  }

  async function inferTraced(req: RestRequest, name: string, version: string | undefined, span: EntrySpan | undefined): Promise<Reply> {
    if (req.headers['inference-header-content-length'] !== undefined) {
      throw new InvalidInputError('the binary tensor data extension is not supported over REST; send JSON data or use gRPC');
    }
    const raw = await req.body();
    if (deps.inputLimits !== undefined) checkJsonValues(raw, deps.inputLimits);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      throw new InvalidInputError(`request body is not valid JSON: ${(e as Error).message}`);
    }
    const deadline = deadlineOf(req.headers, body, Date.now());
    const { request } = withTenant({ request: decodeRestInferRequest(body, {
      model: name, ...(version !== undefined ? { version } : {}), fallbackId: randomUUID(), signal: req.signal,
      ...(deadline !== undefined ? { deadline } : {}),
      ...(deps.inputLimits !== undefined ? { limits: deps.inputLimits } : {}),
    }) }, principalOf(req.headers));
    const started = performance.now();
    const result = await withinInputBudget(deps.inputBudget, request.inputs, () => dispatcher.infer(span === undefined ? request : span.decoded(request)));
    logger.debug({ queryId: request.id, tenant: request.tenant, model: result.model, ms: performance.now() - started }, 'REST query answered');
    const clientId = (body as { id?: unknown }).id;
    const encode = (r: typeof result): unknown => encodeRestInferResponse(r, typeof clientId === 'string' ? clientId : undefined);
    return { status: 200, json: span === undefined ? encode(result) : span.finish(result, encode) };
  }

  function route(req: RestRequest, r: Route): Promise<Reply> | Reply {
    const wantPost = r.kind === 'infer';
    if (wantPost ? req.method !== 'POST' : req.method !== 'GET' && req.method !== 'HEAD') {
      return error(405, `use ${wantPost ? 'POST' : 'GET'} ${req.path}`, { Allow: wantPost ? 'POST' : 'GET, HEAD' });
    }
    switch (r.kind) {
      case 'server':
        return { status: 200, json: { name: SERVER_NAME, version: deps.version, extensions: [...REST_EXTENSIONS] } };
      case 'live':
        return { status: 200 };
      case 'ready':
        return { status: !draining && catalog.list().every((m) => m.ready) ? 200 : 503 };
      case 'model': {
        const m = catalog.resolve(r.name, r.version);
        if (m === undefined) return fromError(notFound(r.name, r.version));
        return { status: 200, json: modelMetadata(m) };
      }
      case 'model-ready': {
        const m = catalog.resolve(r.name, r.version);
        if (m === undefined) return fromError(notFound(r.name, r.version));
        return { status: !draining && m.ready ? 200 : 503 };
      }
      case 'infer':
        return infer(req, r.name, r.version).catch((e: unknown) => {
          if (e instanceof BodyTooLargeError) throw e; // the server answers 413 and closes
          logger.debug({ err: e, model: r.name }, 'REST query failed');
          return fromError(e);
        });
    }
  }

  return {
    async handle(req) {
      const r = parseRestPath(req.path);
      if (r === undefined) return error(404, `no such endpoint: ${req.method} ${req.path}`);
      return route(req, r);
    },
    drain() { draining = true; },
  };
}

function notFound(name: string, version: string | undefined): ModelNotFoundError {
  return new ModelNotFoundError(name, version !== undefined
    ? `model or capability '${name}' version '${version}' is not served here`
    : `model or capability '${name}' is not served here`);
}
