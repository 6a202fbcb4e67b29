// `plexus health` as a HEALTHCHECK sees it: the real CLI process against a real gRPC server
// running the node's own grpc.health.v1 service, switched between SERVING and NOT_SERVING.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealthService, type HealthService } from '../../src/node/grpc/health.ts';
import { loadServices, SERVICE_NAMES } from '../../src/wire/protos.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

interface CliResult { code: number; stdout: string; stderr: string }

async function plexusHealth(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(path.join(REPO, 'bin/plexus'), ['health', ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

let server: grpc.Server;
let health: HealthService;
let target: string;

beforeAll(async () => {
  health = createHealthService([SERVICE_NAMES.inference]);
  server = new grpc.Server();
  server.addService(loadServices().health.service, health.handlers);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p)));
  });
  target = `127.0.0.1:${port}`;
});

afterAll(() => { server.forceShutdown(); });

describe('plexus health', () => {
  it('exits 1 and prints NOT_SERVING while the node is not serving, 0 and SERVING once it is', async () => {
    health.state.set('', 'NOT_SERVING');
    expect(await plexusHealth('--target', target)).toMatchObject({ code: 1, stdout: 'NOT_SERVING\n' });
    health.state.set('', 'SERVING');
    expect(await plexusHealth('--target', target)).toMatchObject({ code: 0, stdout: 'SERVING\n' });
  });

  it('asks about one service with --service; an unknown service is NOT_FOUND, exit 1', async () => {
    health.state.set('', 'SERVING');
    health.state.set(SERVICE_NAMES.inference, 'NOT_SERVING');
    expect(await plexusHealth('--target', target, '--service', SERVICE_NAMES.inference)).toMatchObject({ code: 1, stdout: 'NOT_SERVING\n' });
    health.state.set(SERVICE_NAMES.inference, 'SERVING');
    expect(await plexusHealth('--target', target, '--service', SERVICE_NAMES.inference)).toMatchObject({ code: 0, stdout: 'SERVING\n' });
    const unknown = await plexusHealth('--target', target, '--service', 'no.such.Service');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('NOT_FOUND');
  });

  it('usage errors exit 2', async () => {
    expect((await plexusHealth()).code).toBe(2);
    expect((await plexusHealth('--target', 'nowhere')).code).toBe(2);
    expect((await plexusHealth('--target', target, '--timeout-ms', '0')).code).toBe(2);
    expect((await plexusHealth('--target', target, '--bogus')).code).toBe(2);
  });

  it('exits 1 with UNAVAILABLE when nothing listens', async () => {
    const closed = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) => {
      closed.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p)));
    });
    closed.forceShutdown();
    const result = await plexusHealth('--target', `127.0.0.1:${port}`, '--timeout-ms', '2000');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/UNAVAILABLE|DEADLINE_EXCEEDED/);
  });
});
