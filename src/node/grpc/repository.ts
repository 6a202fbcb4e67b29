// The KServe v2 model repository extension over gRPC (RepositoryIndex, RepositoryModelLoad,
// RepositoryModelUnload), merged into the GRPCInferenceService handlers. One repository per
// node, so repository_name is ignored. Load parameters: `config` (string or bytes, a JSON model
// entry). Unload parameters: `unload_dependents` (bool, also unload adapters on a raw model).
import type * as grpc from '@grpc/grpc-js';
import { InvalidInputError, type PlexusError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ModelRepository } from '../model-repository.ts';
import type { Int64 } from '../../wire/messages.ts';
import { MAX_PARAMETERS } from '../../wire/params.ts';
import { toServiceError } from '../../wire/status.ts';

export interface WireRepositoryParameter {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  bytes_param?: Uint8Array;
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'bytes_param';
}

export interface WireRepositoryIndexRequest {
  repository_name: string;
  ready: boolean;
}

export interface WireRepositoryModelRequest {
  repository_name: string;
  model_name: string;
  parameters?: Record<string, WireRepositoryParameter>;
  /** Set by the guarded decoder (bounded-service.ts) when the message is malformed or past a limit. */
  rejected?: PlexusError;
}

type Unary<Req> = (call: grpc.ServerUnaryCall<Req, object>, cb: grpc.sendUnaryData<object>) => void;

/** The parameter value as a plain value; `where` names it in errors. */
function paramValue(where: string, p: WireRepositoryParameter | undefined): boolean | number | string {
  switch (p?.parameter_choice) {
    case 'bool_param': return p.bool_param === true;
    case 'int64_param': return Number(p.int64_param ?? 0);
    case 'string_param': return p.string_param ?? '';
    // Triton sends file contents as bytes; a JSON config as bytes is UTF-8 text.
    case 'bytes_param': return Buffer.from(p.bytes_param ?? new Uint8Array()).toString('utf8');
    default: throw new InvalidInputError(`${where} has no value`);
  }
}

/** Only `allowed` keys, each of the expected type. */
export function repositoryParams(
  rpc: string, wire: Record<string, WireRepositoryParameter> | undefined, allowed: Readonly<Record<string, 'string' | 'boolean'>>,
): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  const keys = Object.keys(wire ?? {});
  if (keys.length > MAX_PARAMETERS) throw new InvalidInputError(`${rpc} has ${keys.length} parameters; at most ${MAX_PARAMETERS} are allowed`);
  for (const key of keys) {
    const type = allowed[key];
    if (type === undefined) {
      throw new InvalidInputError(`${rpc} parameter '${key}' is not supported (supported: ${Object.keys(allowed).map((k) => `'${k}'`).join(', ')})`);
    }
    const value = paramValue(`${rpc} parameter '${key}'`, wire?.[key]);
    if (typeof value !== type) throw new InvalidInputError(`${rpc} parameter '${key}': expected a ${type}`);
    out[key] = value as string | boolean;
  }
  return out;
}

export function createRepositoryHandlers(deps: { readonly repository: ModelRepository; readonly logger: Logger }): grpc.UntypedServiceImplementation {
  const { repository, logger } = deps;
  const reply = (rpc: string, cb: grpc.sendUnaryData<object>, work: () => Promise<object>): void => {
    work().then((r) => cb(null, r), (e: unknown) => {
      logger.debug({ err: e, rpc }, 'repository call failed');
      cb(toServiceError(e));
    });
  };
  const index: Unary<WireRepositoryIndexRequest> = (call, cb) => {
    reply('RepositoryIndex', cb, () => Promise.resolve({ models: repository.index(call.request.ready) }));
  };
  const load: Unary<WireRepositoryModelRequest> = (call, cb) => {
    reply('RepositoryModelLoad', cb, async () => {
      if (call.request.rejected !== undefined) throw call.request.rejected;
      const params = repositoryParams('RepositoryModelLoad', call.request.parameters, { config: 'string' });
      const config = params.config;
      await repository.load(call.request.model_name, typeof config === 'string' ? { config } : {});
      return {};
    });
  };
  const unload: Unary<WireRepositoryModelRequest> = (call, cb) => {
    reply('RepositoryModelUnload', cb, async () => {
      if (call.request.rejected !== undefined) throw call.request.rejected;
      const params = repositoryParams('RepositoryModelUnload', call.request.parameters, { unload_dependents: 'boolean' });
      await repository.unload(call.request.model_name, { dependents: params.unload_dependents === true });
      return {};
    });
  };
  return { RepositoryIndex: index, RepositoryModelLoad: load, RepositoryModelUnload: unload };
}
