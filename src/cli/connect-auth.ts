// The flags every client command shares to reach a protected node: --token-file (a file whose
// first line is the token), --tls-ca, and for mutual TLS --tls-cert and --tls-key.
import { readFileSync } from 'node:fs';
import type { ClientTls } from '../client/auth.ts';
import { UsageError } from './cli-error.ts';

export const AUTH_OPTIONS = {
  'token-file': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
} as const;

export const AUTH_HELP = `  --token-file FILE    send the bearer token in FILE (first line) to a node run with --tokens
  --tls-ca FILE        connect over TLS, trusting this PEM CA (a node run with --tls-cert)
  --tls-cert FILE      mutual TLS: this client's PEM certificate ...
  --tls-key FILE       ... and key (a node run with --tls-client-ca)
`;

export interface ClientAuth {
  readonly token?: string;
  readonly tls?: ClientTls;
}

function read(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`${flag}: cannot read '${file}': ${(e as Error).message}`);
  }
}

export function clientAuth(values: { readonly 'token-file'?: unknown; readonly 'tls-ca'?: unknown; readonly 'tls-cert'?: unknown; readonly 'tls-key'?: unknown }): ClientAuth {
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const tokenFile = str(values['token-file']);
  const ca = str(values['tls-ca']);
  const cert = str(values['tls-cert']);
  const key = str(values['tls-key']);
  let token: string | undefined;
  if (tokenFile !== undefined) {
    token = read('--token-file', tokenFile).toString('utf8').split(/\r?\n/)[0]?.trim();
    if (token === undefined || token === '' || /\s/.test(token)) throw new UsageError(`--token-file: '${tokenFile}' must hold the token on its first line`);
  }
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const tlsWanted = ca !== undefined || cert !== undefined;
  const tls: ClientTls | undefined = !tlsWanted ? undefined : {
    ...(ca === undefined ? {} : { ca: read('--tls-ca', ca) }),
    ...(cert === undefined ? {} : { cert: read('--tls-cert', cert) }),
    ...(key === undefined ? {} : { key: read('--tls-key', key) }),
  };
  return { ...(token === undefined ? {} : { token }), ...(tls === undefined ? {} : { tls }) };
}
