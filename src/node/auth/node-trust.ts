// Everything the node checks about who talks to it, composed for the daemon: the exposure
// rule (refuse to start exposed and unprotected), caller tokens and roles on gRPC and HTTP,
// TLS material, per-tenant accounting, and the config file's peer lists re-read on change.
// Built at the top of start(): bad files or an exposed, unprotected node fail before anything
// is loaded or bound.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerOptions as HttpsOptions } from 'node:https';
import type * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { ConfigError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { QueryDispatcher } from '../dispatch.ts';
import { loadServices, SERVICE_NAMES } from '../../wire/protos.ts';
import { compileNodeOptions, type NodeOptions } from '../options.ts';
import { createBudgets } from './budgets.ts';
import { createCallerAuth } from './callers.ts';
import { exposureProblems, exposureRefusal } from './exposure.ts';
import { watchFileText, type FileWatch } from './file-watch.ts';
import { createTenantAccounting } from './tenant-dispatch.ts';
import { grpcServerCredentials, httpsOptions, readTls } from './tls.ts';

export interface NodeTrust {
  readonly grpcCredentials?: grpc.ServerCredentials;
  readonly httpsOptions?: HttpsOptions;
  /** Per-tenant rate, budget and metric around the dispatcher. */
  account(inner: QueryDispatcher): QueryDispatcher;
  guard(service: 'inference' | 'plexus' | 'jobs', impl: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation;
  httpGate(req: IncomingMessage, res: ServerResponse): boolean;
  /** Re-read node.p2p.allow/deny when the config file changes (unless flags gave them). */
  watchPeerLists(update: (allow: readonly string[], deny: readonly string[]) => Promise<string[]>): void;
  stop(): void;
}

export function createNodeTrust(options: NodeOptions, deps: { readonly logger: Logger; readonly registry: Registry }): NodeTrust {
  const { logger } = deps;
  const problems = exposureProblems(options);
  if (problems.length > 0) throw new ConfigError(exposureRefusal(problems));
  const security = options.security;
  const tls = security?.tls === undefined ? undefined : readTls(security.tls);
  const callers = createCallerAuth(security?.tokensFile, logger);
  const tokens = callers.tokens;
  const accounting = tokens === undefined ? undefined : createTenantAccounting({
    budgets: createBudgets(), limits: (t) => tokens.limits(t), registry: deps.registry, logger,
  });
  const services = loadServices();
  let peerWatch: FileWatch | undefined;
  return {
    ...(tls === undefined ? {} : { grpcCredentials: grpcServerCredentials(tls), httpsOptions: httpsOptions(tls) }),
    account: (inner) => accounting?.wrap(inner) ?? inner,
    guard: (service, impl) => callers.guardService(services[service].service, SERVICE_NAMES[service], impl),
    httpGate: (req, res) => callers.httpGate(req, res),
    watchPeerLists(update) {
      const file = options.configFile;
      if (file === undefined || options.p2p?.members?.listsFromFlags === true) return;
      peerWatch = watchFileText(file, () => {
        let members;
        try {
          members = compileNodeOptions({ config: file }).p2p?.members;
        } catch (e) {
          logger.error({ file, err: (e as Error).message }, 'config file changed but is invalid; keeping the peer lists');
          return;
        }
        if (members === undefined) return;
        update(members.allow, members.deny).then(
          (dropped) => { logger.info({ file, allow: members.allow.length, deny: members.deny.length, dropped }, 'config file changed: peer lists applied'); },
          (e: unknown) => { logger.error({ file, err: e }, 'applying the peer lists failed'); },
        );
      }, logger);
    },
    stop() {
      peerWatch?.stop();
      callers.stop();
    },
  };
}
