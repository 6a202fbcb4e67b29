// TLS and mutual TLS on real daemons, with certificates made by openssl for this run: a TLS
// node answers gRPC and HTTPS clients that trust its CA and refuses plaintext; under mutual TLS
// a client without a certificate, or with one from another CA, cannot complete the handshake.
// Model repository loads may only name files under the model directories.
import { execFile } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlexusClient } from '../../src/client/index.ts';
import { loadServices } from '../../src/wire/protos.ts';
import { removeTempDirs, tempDir } from './helpers.ts';
import { makeCerts, startTrustNode, type TestCerts, type TrustNode } from './trust-helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
let certs: TestCerts;
const nodes: TrustNode[] = [];
beforeAll(() => { certs = makeCerts(); });
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  removeTempDirs();
});

async function start(flags: Parameters<typeof startTrustNode>[0]): Promise<TrustNode> {
  const n = await startTrustNode(flags);
  nodes.push(n);
  return n;
}

/** grpc.health.v1 Check with these credentials: 'SERVING' or the failure's status name. */
async function check(target: string, creds: grpc.ChannelCredentials): Promise<string> {
  const client = new (loadServices().health)(target, creds);
  try {
    return await new Promise((resolve) => {
      (client as unknown as { Check: (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { status: string }) => void) => void })
        .Check({ service: '' }, { deadline: Date.now() + 5000 }, (e, r) => { resolve(e ? grpc.status[e.code] : r?.status ?? '?'); });
    });
  } finally {
    client.close();
  }
}

function httpsStatus(hostPort: string, pathname: string, opts: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<number | string> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const req = request({ host, port: Number(port), path: pathname, ...opts, timeout: 5000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', (e) => { resolve((e as NodeJS.ErrnoException).code ?? e.message); });
    req.end();
  });
}

const pem = (f: string): Buffer => readFileSync(f);

describe('TLS', () => {
  it('serves gRPC and HTTPS to clients that trust its CA; plaintext clients get nothing', async () => {
    const n = await start({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, http: '127.0.0.1:0' });
    expect(await check(n.grpc, grpc.credentials.createSsl(pem(certs.caCert)))).toBe('SERVING');
    expect(await check(n.grpc, grpc.credentials.createInsecure())).toBe('UNAVAILABLE');
    expect(await httpsStatus(n.http ?? '', '/v2/health/live', { ca: pem(certs.caCert) })).toBe(200);
    const client = new PlexusClient(n.grpc, { tls: { ca: pem(certs.caCert) }, timeoutMs: 5000 });
    try {
      expect((await client.node()).peerId).toBe(n.peerId);
    } finally {
      client.close();
    }
  });

  it('mutual TLS: a client without a certificate, or with one from another CA, is refused', async () => {
    const n = await start({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsClientCa: certs.caCert, http: '127.0.0.1:0' });
    const ca = pem(certs.caCert);
    expect(await check(n.grpc, grpc.credentials.createSsl(ca, pem(certs.clientKey), pem(certs.clientCert)))).toBe('SERVING');
    expect(await check(n.grpc, grpc.credentials.createSsl(ca))).toBe('UNAVAILABLE');
    expect(await check(n.grpc, grpc.credentials.createSsl(ca, pem(certs.strangerKey), pem(certs.strangerCert)))).toBe('UNAVAILABLE');
    expect(await httpsStatus(n.http ?? '', '/v2/health/live', { ca, cert: pem(certs.clientCert), key: pem(certs.clientKey) })).toBe(200);
    expect(await httpsStatus(n.http ?? '', '/v2/health/live', { ca })).not.toBe(200);
    expect(await httpsStatus(n.http ?? '', '/v2/health/live', { ca, cert: pem(certs.strangerCert), key: pem(certs.strangerKey) })).not.toBe(200);
    // The CLI's health check (a container probe) with the client certificate.
    const { stdout } = await run(path.join(ROOT, 'node_modules/.bin/node'), [path.join(ROOT, 'src/cli/main.ts'), 'health', '--target', n.grpc,
      '--tls-ca', certs.caCert, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey], { timeout: 20_000 });
    expect(stdout.trim()).toBe('SERVING');
  });

  it('a missing certificate file fails the start naming the flag; --tls-cert needs --tls-key', async () => {
    await expect(start({ tlsCert: path.join(certs.dir, 'nope.crt'), tlsKey: certs.serverKey })).rejects.toThrow(/--tls-cert: cannot read/);
    await expect(start({ tlsCert: certs.serverCert })).rejects.toThrow(/--tls-cert and --tls-key go together/);
  });
});

describe('model directories', () => {
  it('loads may only name files under the model directories, and a refusal does not say whether the file exists', async () => {
    const dir = tempDir();
    const config = path.join(dir, 'plexus.yaml');
    writeFileSync(config, 'node: {}\n');
    const outside = tempDir();
    writeFileSync(path.join(outside, 'real.onnx'), 'not a model');
    symlinkSync(path.join(outside, 'real.onnx'), path.join(dir, 'link.onnx'));
    const n = await start({ config });
    const client = new (loadServices().inference)(n.grpc, grpc.credentials.createInsecure());
    const load = (p: string): Promise<{ code: number; details: string }> => new Promise((resolve) => {
      const req = { repository_name: '', model_name: 'extra', parameters: { config: { string_param: JSON.stringify({ path: p }) } } };
      (client as unknown as { RepositoryModelLoad: (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void })
        .RepositoryModelLoad(req, { deadline: Date.now() + 10_000 }, (e) => { resolve(e ? { code: e.code, details: e.details } : { code: 0, details: '' }); });
    });
    try {
      const exists = await load(path.join(outside, 'real.onnx'));
      const missing = await load(path.join(outside, 'missing.onnx'));
      const climbing = await load('../../etc/passwd');
      const viaLink = await load('link.onnx');
      for (const r of [exists, missing, climbing, viaLink]) {
        expect(r.code).toBe(grpc.status.PERMISSION_DENIED);
        expect(r.details).toMatch(/is not under a model directory of this node/);
        expect(r.details).not.toMatch(/exist/);
      }
      // Inside the directory the usual checks apply.
      expect((await load('missing-inside.onnx')).details).toMatch(/does not exist/);
    } finally {
      client.close();
    }
  });
});
