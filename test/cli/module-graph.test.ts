// What `plexus query` and `plexus health` load: the real CLI process, with a module hook
// (NODE_OPTIONS --import) that logs every module it loads, run against a port nothing listens
// on. Neither may load the node, the inference engine, zod, yaml, ONNX Runtime or libp2p: a
// HEALTHCHECK runs every few seconds and a query needs only the client and the wire layer.
// Checked twice: on the sources (every module by its path), and on the daemon bundle that
// bin/plexus runs after `npm run build` (dist/daemon/: chunks split where the CLI imports a
// command lazily, so a chunk a command loads is named by hash; what it holds is told by strings
// each heavy package keeps through minification).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-modules-'));
const hook = path.join(dir, 'hook.mjs');
writeFileSync(hook, `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
const out = process.env.PLEXUS_MODULE_LOG;
registerHooks({ load(url, context, next) { appendFileSync(out, url + '\\n'); return next(url, context); } });
`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Our modules outside the client/wire/CLI path, and the heavy packages, by path in src/ or dist/. */
const FORBIDDEN = [
  /\/(src|dist)\/(node|inference|routing)\//,
  /\/node_modules\/(zod|yaml|onnxruntime-node|onnxruntime-common|libp2p|@libp2p|@chainsafe|sharp|pino)\//,
];

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const BUNDLE = path.join(REPO, 'dist/daemon');
const BUNDLE_MAIN = path.join(BUNDLE, 'main.js');

/** Runs the CLI from the sources, or (bundle) from dist/daemon/main.js, with the module hook. */
async function modulesOf(args: string[], bundle = false): Promise<{ code: number; stderr: string; modules: string[] }> {
  const log = path.join(dir, `log-${args[0] ?? ''}-${bundle ? 'bundle' : 'src'}`);
  writeFileSync(log, '');
  const env = { ...process.env, PLEXUS_MODULE_LOG: log, NODE_OPTIONS: `--import=${pathToFileURL(hook).href}` };
  const entry = bundle ? BUNDLE_MAIN : path.join(REPO, 'src/cli/main.ts');
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(path.join(REPO, 'node_modules/.bin/node'), [entry, ...args], { env, timeout: 20_000 }, (error, _stdout, err) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stderr: err });
    });
  });
  return { code, stderr, modules: readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') };
}

describe('the CLI loads only what a command needs', () => {
  it('plexus query: the client and the wire layer, not the node, inference, zod or yaml', async () => {
    const target = `127.0.0.1:${await closedPort()}`;
    const wav = path.join(REPO, 'test/fixtures/silence-16k.wav');
    const run = await modulesOf(['query', '--target', target, '--model', 'speech.vad', '--input', wav, '--timeout-ms', '3000']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/UNAVAILABLE|DEADLINE_EXCEEDED/);
    // The hook saw the command's own modules, so an empty list cannot pass.
    expect(run.modules.some((m) => /\/cli\/query\.(ts|js)$/.test(m))).toBe(true);
    expect(run.modules.some((m) => /\/client\/connection\.(ts|js)$/.test(m))).toBe(true);
    expect(run.modules.some((m) => m.includes('/node_modules/@grpc/grpc-js/'))).toBe(true);
    expect(run.modules.filter((m) => FORBIDDEN.some((re) => re.test(m)))).toEqual([]);
  });

  it('plexus health: the same', async () => {
    const run = await modulesOf(['health', '--target', `127.0.0.1:${await closedPort()}`, '--timeout-ms', '3000']);
    expect(run.code).toBe(1);
    expect(run.modules.some((m) => /\/cli\/health\.(ts|js)$/.test(m))).toBe(true);
    expect(run.modules.filter((m) => FORBIDDEN.some((re) => re.test(m)))).toEqual([]);
  });
});

/** Strings each heavy package keeps in the minified bundle (zod's class names, libp2p's identify protocol, yaml's error class, pino's symbols). */
const MARKERS: Record<string, string> = {
  zod: '$ZodObject',
  libp2p: '/ipfs/id/1.0.0',
  yaml: 'YAMLParseError',
  pino: 'pino.serializers',
};

describe.skipIf(!existsSync(BUNDLE_MAIN))('the daemon bundle (dist/daemon) loads only what a command needs', () => {
  const chunks = (modules: readonly string[]): string[] => modules.filter((m) => m.startsWith(pathToFileURL(BUNDLE).href)).map((m) => new URL(m).pathname);
  const heavy = (files: readonly string[]): string[] => Object.entries(MARKERS).filter(([, marker]) => files.some((f) => readFileSync(f, 'utf8').includes(marker))).map(([pkg]) => pkg);

  it('every marker is in the bundle (so their absence below means something)', () => {
    const all = readdirSync(BUNDLE).filter((f) => f.endsWith('.js')).map((f) => path.join(BUNDLE, f));
    expect(heavy(all)).toEqual(Object.keys(MARKERS));
  });

  it.each([
    ['query', ['--model', 'speech.vad', '--input', path.join(REPO, 'test/fixtures/silence-16k.wav')]],
    ['health', []],
  ])('plexus %s: no chunk with zod, libp2p, yaml or pino, nothing from node_modules but grpc-js and its own', async (cmd, extra) => {
    const run = await modulesOf([cmd, '--target', `127.0.0.1:${await closedPort()}`, ...extra, '--timeout-ms', '3000'], true);
    expect(run.code).toBe(1);
    const loaded = chunks(run.modules);
    expect(loaded).toContain(BUNDLE_MAIN);
    expect(loaded.length).toBeGreaterThan(1); // the command's own chunk, imported lazily
    expect(heavy(loaded)).toEqual([]);
    expect(run.modules.filter((m) => FORBIDDEN.some((re) => re.test(m)))).toEqual([]);
  });
});
