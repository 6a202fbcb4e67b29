// Shared by the trust tests: in-process nodes started from real node-start flags (swarm key,
// peer lists, TLS, tokens), a logger whose lines the test can read, and throwaway files.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { compileModelSpecs } from '../../src/inference/index.ts';
import type { Logger } from '../../src/logger.ts';
import { silentLogger } from '../../src/logger.ts';
import { createPlexusNode, type PlexusNode } from '../../src/node/daemon.ts';
import { compileNodeOptions, type NodeFlags, type NodeOptions } from '../../src/node/options.ts';
import { rawVadModel, REFRESH_MS, tempDir } from './helpers.ts';

export interface TrustNode {
  readonly node: PlexusNode;
  readonly peerId: string;
  readonly addrs: readonly string[];
  readonly grpc: string;
  readonly http: string | undefined;
  close(): Promise<void>;
}

/** A node compiled from these flags on loopback (ephemeral ports), hosting the raw VAD. */
export async function startTrustNode(flags: NodeFlags, logger: Logger = silentLogger(), models: unknown[] = [rawVadModel()]): Promise<TrustNode> {
  const compiled = compileNodeOptions({ grpc: '127.0.0.1:0', listen: ['/ip4/127.0.0.1/tcp/0'], dataDir: tempDir(), logLevel: 'silent', ...flags });
  const options: NodeOptions = { ...compiled, shutdownGraceMs: 1000, models: flags.noModels === true ? [] : compileModelSpecs(models, process.cwd()) };
  const node = createPlexusNode(options, { logger, p2p: { refreshMs: REFRESH_MS } });
  const started = await node.start();
  return { node, peerId: started.peerId, addrs: started.multiaddrs, grpc: started.grpc, http: started.http, close: () => node.stop() };
}

/** A logger at `level` whose JSON lines land in `lines`. */
export function capturingLogger(level = 'debug'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write(s: string) { lines.push(JSON.parse(s) as Record<string, unknown>); } });
  return { logger, lines };
}

/** Write `text` to a new file in a temp dir; returns its path. */
export function tempFile(name: string, text: string, dir = tempDir('plexus-trust-')): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

export interface TestCerts {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A client certificate from another CA (must be refused under mutual TLS). */
  readonly strangerCert: string;
  readonly strangerKey: string;
}

/** A CA, a server certificate for 127.0.0.1 and client certificates, made with openssl. */
export function makeCerts(): TestCerts {
  const dir = tempDir('plexus-certs-');
  const ssl = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }); };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string): void => ssl('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${name}`);
  const leaf = (name: string, signer: string, ext: string): void => {
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.crt`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  };
  ca('ca');
  ca('other-ca');
  leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  const p = (f: string): string => path.join(dir, f);
  return {
    dir, caCert: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key'),
    clientCert: p('client.crt'), clientKey: p('client.key'), strangerCert: p('stranger.crt'), strangerKey: p('stranger.key'),
  };
}
