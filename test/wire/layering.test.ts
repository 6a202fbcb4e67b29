// The layering check of `npm run lint` (.dependency-cruiser.cjs) run on small planted trees:
// each forbidden import fails it with its rule's name, and a tree that keeps the layers passes.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
const DEPCRUISE = path.join(REPO, 'node_modules/.bin/depcruise');
const CONFIG = path.join(REPO, '.dependency-cruiser.cjs');
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** Writes `files` (path -> source) under a fresh src/ and runs the check there. */
async function cruise(files: Record<string, string>): Promise<{ code: number; out: string }> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'plexus-layers-'));
  dirs.push(root);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return new Promise((resolve) => {
    execFile(DEPCRUISE, ['src', '--config', CONFIG], { cwd: root, timeout: 25_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, out: stdout + stderr });
    });
  });
}

const CLEAN = {
  'src/errors.ts': 'export class E extends Error {}\n',
  'src/wire/params.ts': "import { E } from '../errors.ts';\nexport const P = E;\n",
  'src/client/client.ts': "import { P } from '../wire/params.ts';\nexport const C = P;\n",
  'src/routing/table.ts': "import type { P } from '../wire/params.ts';\nexport type T = typeof P;\n",
  'src/inference/engine.ts': "import { P } from '../wire/params.ts';\nexport const I = P;\n",
  'src/node/daemon.ts': "import { I } from '../inference/engine.ts';\nimport type { T } from '../routing/table.ts';\nexport const N: [unknown, T | undefined] = [I, undefined];\n",
  'src/cli/main.ts': "import { N } from '../node/daemon.ts';\nimport { C } from '../client/client.ts';\nexport const M = [N, C];\n",
};

describe('the layering check', () => {
  it('passes a tree that keeps the layers', async () => {
    const { code, out } = await cruise(CLEAN);
    expect(out).toContain('no dependency violations');
    expect(code).toBe(0);
  }, 30_000);

  it('fails on a cycle and on each import against the layers, naming the rule', async () => {
    const { code, out } = await cruise({
      ...CLEAN,
      // the published client reaching into the node (a type-only import counts too)
      'src/client/client.ts': "import { P } from '../wire/params.ts';\nimport type { N } from '../node/daemon.ts';\nexport const C: [unknown, N?] = [P];\n",
      // the wire layer importing a layer above it
      'src/wire/params.ts': "import { E } from '../errors.ts';\nimport { I } from '../inference/engine.ts';\nexport const P = [E, I];\n",
      // routing importing inference
      'src/routing/table.ts': "import { I } from '../inference/engine.ts';\nexport type T = typeof I;\n",
      // a cycle inside the CLI
      'src/cli/a.ts': "import { B } from './b.ts';\nexport const A = () => B;\n",
      'src/cli/b.ts': "import { A } from './a.ts';\nexport const B = () => A;\n",
    });
    expect(code).not.toBe(0);
    for (const rule of ['client-stands-alone', 'wire-is-a-leaf', 'routing-is-pure', 'no-circular']) expect(out).toContain(rule);
  }, 30_000);
});
