// Callers on real daemons: tokens and roles on gRPC and REST (health stays open), per-tenant
// rate and cost budgets (RESOURCE_EXHAUSTED / 429 saying when they reset), the tenant on the
// next hop's log lines and on a metric, the tokens file re-read on change, and the
// secure-by-default refusal from the real CLI.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlexusClient, PlexusClientError } from '../../src/client/index.ts';
import { tokenInterceptor } from '../../src/client/auth.ts';
import { generateToken } from '../../src/node/auth/tokens.ts';
import { loadServices } from '../../src/wire/protos.ts';
import { rawVadModel, rawVadRequest, removeTempDirs, tempDir, waitFor } from './helpers.ts';
import { capturingLogger, startTrustNode, tempFile, type TrustNode } from './trust-helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const alice = generateToken('alice', 'query');
const bob = generateToken('bob', 'admin');
const slow = generateToken('slow', 'query');
const thrift = generateToken('thrift', 'query');
const carol = generateToken('carol', 'query');
const tokensText = (extra = ''): string => `tokens:\n${alice.entry}\n${bob.entry}\n`
  + `${slow.entry.replace('}', ', ratePerSecond: 2}')}\n${thrift.entry.replace('}', ', budget: {cost: 2, perSeconds: 3600}}')}\n${extra}`;

let tokensFile: string;
let node: TrustNode;
const nodes: TrustNode[] = [];

beforeAll(async () => {
  tokensFile = tempFile('tokens.yaml', tokensText());
  // Price 1 a call: the thrift tenant's budget of 2 lasts two queries.
  node = await startTrustNode({ tokens: tokensFile, http: '127.0.0.1:0' }, undefined, [rawVadModel({ price: 1 })]);
  nodes.push(node);
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  removeTempDirs();
});

type Method = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: unknown) => void) => void;
/** A unary call on a fresh client with this token (or none); resolves with the status code and the reply. */
async function grpcCall(service: 'inference' | 'health' | 'plexus', method: string, request: unknown, token?: string, target = node.grpc): Promise<{ code: number; details: string; reply?: unknown }> {
  const Ctor = loadServices()[service];
  const client = new Ctor(target, grpc.credentials.createInsecure(), token === undefined ? {} : { interceptors: [tokenInterceptor(token)] });
  try {
    return await new Promise((resolve) => {
      (client as unknown as Record<string, Method>)[method]?.call(client, request, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (e, r) => {
        resolve(e ? { code: e.code, details: e.details } : { code: 0, details: '', reply: r });
      });
    });
  } finally {
    client.close();
  }
}

const infer = (token?: string, target?: string): ReturnType<typeof grpcCall> => grpcCall('inference', 'ModelInfer', rawVadRequest('speech.vad.raw'), token, target);

async function rest(method: string, pathname: string, token?: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${node.http ?? ''}${pathname}`, {
    method, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: { ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }), 'Content-Type': 'application/json' },
  });
  return { status: res.status, text: await res.text() };
}

const restInferBody = { inputs: [
  { name: 'input', datatype: 'FP32', shape: [1, 512], data: Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin(i / 5)) },
  { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array<number>(256).fill(0) },
  { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
] };

describe('tokens and roles', () => {
  it('gRPC: no or bad token is UNAUTHENTICATED, a query token cannot load or unload, an admin token can; health stays open', async () => {
    expect((await infer()).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await infer('plx_not-a-token')).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await infer(alice.token)).code).toBe(grpc.status.OK);
    expect((await grpcCall('plexus', 'ListPeers', {})).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await grpcCall('plexus', 'ListPeers', {}, alice.token)).code).toBe(grpc.status.OK);
    const load = { repository_name: '', model_name: 'extra', parameters: { config: { string_param: JSON.stringify({ path: 'builtin:silero-vad' }) } } };
    const denied = await grpcCall('inference', 'RepositoryModelLoad', load, alice.token);
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied.details).toMatch(/admin token.*alice.*query/);
    expect((await grpcCall('inference', 'RepositoryModelUnload', { repository_name: '', model_name: 'silero-vad' }, alice.token)).code).toBe(grpc.status.PERMISSION_DENIED);
    // The admin's call passes the check (and then fails on its own merits: no such model).
    expect((await grpcCall('inference', 'RepositoryModelUnload', { repository_name: '', model_name: 'no-such-model' }, bob.token)).code).toBe(grpc.status.NOT_FOUND);
    expect((await grpcCall('health', 'Check', { service: '' })).reply).toEqual({ status: 'SERVING' });
  });

  it('ModelStreamInfer without a token ends with UNAUTHENTICATED; the client\'s token option passes', async () => {
    const anonymous = new PlexusClient(node.grpc, { timeoutMs: 10_000 });
    const withToken = new PlexusClient(node.grpc, { timeoutMs: 10_000, token: alice.token });
    try {
      const err = await anonymous.listCapabilities().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PlexusClientError);
      expect((err as PlexusClientError).kind).toBe('unauthenticated');
      const req = { model: 'speech.vad.raw', inputs: [
        { name: 'input', datatype: 'FP32' as const, shape: [1, 512], data: new Float32Array(512) },
        { name: 'state', datatype: 'FP32' as const, shape: [2, 1, 128], data: new Float32Array(256) },
        { name: 'sr', datatype: 'INT64' as const, shape: [], data: new BigInt64Array([16000n]) },
      ] };
      const streamErr = await (async () => { for await (const _ of anonymous.stream([req])) { /* nothing is answered */ } })().catch((e: unknown) => e);
      expect((streamErr as PlexusClientError).kind).toBe('unauthenticated');
      const ok: string[] = [];
      for await (const item of withToken.stream([req, req])) ok.push(item.ok ? 'ok' : item.error.codeName);
      expect(ok).toEqual(['ok', 'ok']);
    } finally {
      anonymous.close();
      withToken.close();
    }
  });

  it('REST: 401 without a token, 403 for a query token on load, 200 with one; health and readiness open', async () => {
    expect((await rest('POST', '/v2/models/speech.vad.raw/infer', undefined, restInferBody)).status).toBe(401);
    expect((await rest('POST', '/v2/models/speech.vad.raw/infer', alice.token, restInferBody)).status).toBe(200);
    const load = await rest('POST', '/v2/repository/models/extra/load', alice.token, { parameters: { config: JSON.stringify({ path: 'builtin:silero-vad' }) } });
    expect(load.status).toBe(403);
    expect((await rest('GET', '/v2/health/live')).status).toBe(200);
    expect((await rest('GET', '/v2/health/ready')).status).toBe(200);
    expect((await rest('GET', '/metrics')).status).toBe(401);
    const metrics = await rest('GET', '/metrics', alice.token);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/plexus_tenant_requests_total\{tenant="alice",code="OK"\} [1-9]/);
  });

  it('the tokens file is re-read on change: a new token works without a restart', async () => {
    expect((await infer(carol.token)).code).toBe(grpc.status.UNAUTHENTICATED);
    writeFileSync(tokensFile, tokensText(`${carol.entry}\n`));
    await waitFor('carol\'s token is accepted', async () => (await infer(carol.token)).code === 0, 5000, 100);
    // An invalid edit keeps the tokens in force.
    writeFileSync(tokensFile, 'tokens: [{tenant: x}]\n');
    await new Promise((r) => setTimeout(r, 600));
    expect((await infer(carol.token)).code).toBe(grpc.status.OK);
    writeFileSync(tokensFile, tokensText(`${carol.entry}\n`));
  });
});

describe('the CLI with --token-file', () => {
  const run = promisify(execFile);
  const cli = (...args: string[]): Promise<{ stdout: string }> => run(path.join(ROOT, 'node_modules/.bin/node'), [path.join(ROOT, 'src/cli/main.ts'), ...args], { timeout: 20_000 });

  it('plexus caps answers with the token and fails UNAUTHENTICATED without it', async () => {
    const tokenFile = tempFile('token', `${alice.token}\n`);
    const { stdout } = await cli('caps', '--target', node.grpc, '--token-file', tokenFile, '--json');
    expect(stdout).toContain('speech.vad.raw');
    await expect(cli('caps', '--target', node.grpc)).rejects.toMatchObject({ stderr: expect.stringMatching(/UNAUTHENTICATED/) as unknown });
  });

  it('plexus job list (plexus.v1.Jobs behind the same guard) answers with the token and fails UNAUTHENTICATED without it', async () => {
    const tokenFile = tempFile('token', `${alice.token}\n`);
    const { stdout } = await cli('job', 'list', '--target', node.grpc, '--token-file', tokenFile, '--json');
    expect(() => { JSON.parse(stdout); }).not.toThrow();
    await expect(cli('job', 'list', '--target', node.grpc)).rejects.toMatchObject({ stderr: expect.stringMatching(/UNAUTHENTICATED/) as unknown });
  });
});

describe('per-tenant budgets', () => {
  it('over its request rate a tenant gets RESOURCE_EXHAUSTED (429 on REST) saying when it resets', async () => {
    const codes: number[] = [];
    let details = '';
    for (let i = 0; i < 4; i++) {
      const r = await infer(slow.token);
      codes.push(r.code);
      if (r.code !== 0) details = r.details;
    }
    expect(codes.slice(0, 2)).toEqual([0, 0]);
    expect(codes).toContain(grpc.status.RESOURCE_EXHAUSTED);
    expect(details).toMatch(/tenant 'slow' is over its rate of 2 requests\/s; it resets in \d+ ms/);
    expect((await rest('POST', '/v2/models/speech.vad.raw/infer', slow.token, restInferBody)).status).toBe(429);
    // Other tenants are not affected.
    expect((await infer(alice.token)).code).toBe(0);
  });

  it('a tenant whose cost budget is spent is refused until the window resets', async () => {
    expect((await infer(thrift.token)).code).toBe(0);
    expect((await infer(thrift.token)).code).toBe(0);
    const over = await infer(thrift.token);
    expect(over.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(over.details).toMatch(/tenant 'thrift' has spent its cost budget \(2 of 2 per 3600 s\); it resets at \d{4}-\d\d-\d\dT.* \(in \d+ s\)/);
  });
});

describe('the tenant travels with the query', () => {
  it('the next hop logs the entry node\'s tenant', async () => {
    const { logger, lines } = capturingLogger('debug');
    const provider = await startTrustNode({}, logger);
    nodes.push(provider);
    const entry = await startTrustNode({ tokens: tokensFile, noModels: true, bootstrap: [provider.addrs[0] ?? ''] });
    nodes.push(entry);
    await waitFor('the entry node learns the provider\'s route', () => entry.node.cluster()?.routes().some((r) => r.origin === provider.peerId) === true, 10_000);
    expect((await infer(alice.token, entry.grpc)).code).toBe(0);
    expect(lines.some((l) => l.msg === 'forwarded query: running here' && l.tenant === 'alice')).toBe(true);
  });
});

describe('secure by default', () => {
  const run = promisify(execFile);
  const start = async (...args: string[]): Promise<{ code: number; stderr: string }> => {
    try {
      await run(path.join(ROOT, 'node_modules/.bin/node'), [path.join(ROOT, 'src/cli/main.ts'), 'node', 'start', '--data-dir', tempDir(), '--log-level', 'silent', ...args], { timeout: 20_000 });
      return { code: 0, stderr: '' };
    } catch (e) {
      const err = e as { code: number; stderr: string };
      return { code: err.code, stderr: err.stderr };
    }
  };

  it('a node exposed beyond loopback without a key, allow-list, TLS or tokens refuses to start, saying why', async () => {
    const p2p = await start('--grpc', '127.0.0.1:0', '--listen', '/ip4/0.0.0.0/tcp/0');
    expect(p2p.code).toBe(2);
    expect(p2p.stderr).toMatch(/refusing to start: libp2p listens on \/ip4\/0\.0\.0\.0\/tcp\/0, which is not loopback, but no swarm key .* or peer allow-list .* pass --open/);
    const grpcOpen = await start('--grpc', '0.0.0.0:0', '--listen', '/ip4/127.0.0.1/tcp/0');
    expect(grpcOpen.code).toBe(2);
    expect(grpcOpen.stderr).toMatch(/refusing to start: gRPC listens on 0\.0\.0\.0:0, which is not loopback, but neither TLS .* nor tokens .* pass --open/);
    const http = await start('--grpc', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', '--http', '0.0.0.0:0', '--check-config');
    expect(http.code).toBe(2);
    expect(http.stderr).toMatch(/HTTP listens on 0\.0\.0\.0:0/);
  });

  it('a tokens file that cannot be read or is invalid fails the start, naming the file and the entry', async () => {
    await expect(startTrustNode({ tokens: path.join(tempDir(), 'missing.yaml') })).rejects.toThrow(/--tokens '.*missing\.yaml': cannot read/);
    const bad = tempFile('tokens.yaml', 'tokens:\n  - {tenant: a, role: query, sha256: "x"}\n');
    await expect(startTrustNode({ tokens: bad })).rejects.toThrow(/tokens\[0\]\.sha256: expected 64 hex digits/);
  });
});
