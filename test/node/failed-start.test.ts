// A node whose start fails after its servers are up (here the config file's directory is gone
// when the config watch starts) releases everything it had started: the gRPC and HTTP ports are
// free again at once (before the component runner, the HTTP server was never stopped).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPlexusNode } from '../../src/node/daemon.ts';
import { compileNodeOptions } from '../../src/node/options.ts';
import { silentLogger } from '../../src/logger.ts';

const root = mkdtempSync(path.join(tmpdir(), 'plexus-failed-start-'));
afterAll(() => { rmSync(root, { recursive: true, force: true }); });

/** A port nobody listens on now; resolves once it is closed again. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => { resolve(port); });
    });
  });
}

/** Whether a listener can bind the port now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => { resolve(false); });
    s.listen(port, '127.0.0.1', () => { s.close(() => { resolve(true); }); });
  });
}

describe('a start that fails late', () => {
  it('stops the gRPC and HTTP servers it had started and rethrows', async () => {
    const confDir = mkdtempSync(path.join(root, 'conf-'));
    const file = path.join(confDir, 'plexus.json');
    writeFileSync(file, JSON.stringify({ models: [] }));
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const { p2p: _p2p, ...options } = compileNodeOptions({
      config: file, grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}`, dataDir: path.join(root, 'data'),
    });
    rmSync(confDir, { recursive: true, force: true });
    const node = createPlexusNode(options, { logger: silentLogger() });
    await expect(node.start()).rejects.toThrow(/ENOENT/);
    expect(await bindable(grpcPort)).toBe(true);
    expect(await bindable(httpPort)).toBe(true);
    await node.stop();
    await expect(node.start()).rejects.toThrow('node cannot start: it is stopped');
  });
});
