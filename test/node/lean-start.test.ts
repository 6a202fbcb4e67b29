// What a node with no models loads (issue #13: its resident memory). A real daemon subprocess
// (src/cli/main.ts, libp2p on loopback) runs with a module hook that records every module it
// loads and, at exit, the Node builtins it loaded. Without --http it must not load the HTTP
// side; with or without it, never prom-client's index (default process metrics, Pushgateway,
// cluster aggregator), the undici bundle (an ES-module import of node:http pulls it in, ~10 MB),
// or the adapter and pipeline code a model would need.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'plexus-lean-start-'));
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

const HOOK = `
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const loaded = [];
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
process.on('exit', () => { writeFileSync(process.env.LEAN_START_OUT, JSON.stringify({ loaded, builtins: process.moduleLoadList })); });
`;

interface Loads { readonly loaded: readonly string[]; readonly builtins: readonly string[] }

/** Starts a no-model node with `extra` flags, waits for its ready line, stops it (SIGTERM) and returns what it loaded. */
async function loadsOf(name: string, extra: readonly string[], entry = 'src/cli/main.ts'): Promise<Loads> {
  const hook = path.join(dir, 'hook.mjs');
  writeFileSync(hook, HOOK);
  const config = path.join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify({ models: [], node: { p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] } } }));
  const out = path.join(dir, `${name}.out.json`);
  const child = spawn(path.join(ROOT, 'node_modules/.bin/node'), ['--import', hook, entry, 'node', 'start', '--json', '--config', config, '--grpc', '127.0.0.1:0', '--data-dir', path.join(dir, name), '--log-level', 'warn', ...extra], {
    cwd: ROOT, env: { ...process.env, LEAN_START_OUT: out }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => { child.on('close', (code) => { resolve(code); }); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no ready line in 60 s: ${stderr}`)); }, 60_000);
    child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('"grpc"')) { clearTimeout(timer); resolve(); } });
  });
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8')) as Loads;
}

const has = (urls: readonly string[], part: string): boolean => urls.some((u) => u.includes(part));

describe('a node with no models', () => {
  it('loads neither the HTTP side without --http, nor prom-client\'s index, undici or model code', async () => {
    const { loaded, builtins } = await loadsOf('plain', []);
    expect(has(loaded, '/src/node/p2p/service.ts')).toBe(true); // the hook sees our modules
    expect(has(loaded, '/src/node/http/server.ts')).toBe(false);
    expect(has(loaded, '/src/node/http/dashboard/')).toBe(false);
    expect(has(loaded, '/prom-client/lib/histogram.js')).toBe(true);
    expect(has(loaded, '/prom-client/index.js')).toBe(false);
    expect(has(loaded, '/src/inference/adapters/ocr/ocr-adapter.ts')).toBe(false);
    expect(has(loaded, '/src/inference/adapters/silero-vad.ts')).toBe(false);
    expect(has(loaded, '/src/inference/pipeline/pipeline-model.ts')).toBe(false);
    expect(builtins.some((m) => m.includes('undici'))).toBe(false);
  }, 90_000);

  it('loads the HTTP server with --http, still without undici', async () => {
    const { loaded, builtins } = await loadsOf('http', ['--http', '127.0.0.1:0']);
    expect(has(loaded, '/src/node/http/server.ts')).toBe(true);
    expect(builtins).toContain('NativeModule http');
    expect(builtins.some((m) => m.includes('undici'))).toBe(false);
  }, 90_000);
});

const BUNDLE_MAIN = path.join(ROOT, 'dist/daemon/main.js');

describe.skipIf(!existsSync(BUNDLE_MAIN))('a node with no models, from the daemon bundle bin/plexus runs (dist/daemon)', () => {
  it('runs from the bundle\'s chunks, and an ES-module import of node:http still does not pull undici in', async () => {
    const { loaded, builtins } = await loadsOf('bundle', [], BUNDLE_MAIN);
    expect(loaded.filter((u) => u.includes('/dist/daemon/')).length).toBeGreaterThan(1);
    expect(has(loaded, '/src/')).toBe(false);
    expect(has(loaded, '/prom-client/index.js')).toBe(false);
    expect(builtins.some((m) => m.includes('undici'))).toBe(false);
  }, 90_000);
});
