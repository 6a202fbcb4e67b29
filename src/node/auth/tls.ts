// TLS for the gRPC and HTTP ports from PEM files (--tls-cert, --tls-key), and mutual TLS
// (--tls-client-ca): a client must present a certificate signed by that CA or its handshake
// is refused. Files are read once at start; ConfigError names the flag of an unreadable one.
import { readFileSync } from 'node:fs';
import type { ServerOptions as HttpsOptions } from 'node:https';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../../errors.ts';
import type { TlsOptions } from './options.ts';

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa?: Buffer;
}

function readPem(file: string, flag: string): Buffer {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new ConfigError(`${flag}: cannot read '${file}': ${(e as Error).message}`);
  }
  if (!buf.toString('latin1').includes('-----BEGIN ')) throw new ConfigError(`${flag}: '${file}' is not a PEM file`);
  return buf;
}

export function readTls(tls: TlsOptions): TlsMaterial {
  return {
    cert: readPem(tls.cert, '--tls-cert'),
    key: readPem(tls.key, '--tls-key'),
    ...(tls.clientCa === undefined ? {} : { clientCa: readPem(tls.clientCa, '--tls-client-ca') }),
  };
}

export function grpcServerCredentials(m: TlsMaterial): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(m.clientCa ?? null, [{ cert_chain: m.cert, private_key: m.key }], m.clientCa !== undefined);
}

export function httpsOptions(m: TlsMaterial): HttpsOptions {
  return {
    cert: m.cert, key: m.key,
    ...(m.clientCa === undefined ? {} : { ca: m.clientCa, requestCert: true, rejectUnauthorized: true }),
  };
}
