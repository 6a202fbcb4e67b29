// A node started with --only keeps the cut when its config file changes: a reload applies the
// file's edits to the chosen entries and loads nothing else (src/node/host-only.ts through
// the config watch of a real node started with --config).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { createPlexusNode, type PlexusNode } from '../../src/node/daemon.ts';
import { compileNodeOptions } from '../../src/node/options.ts';
import { waitFor } from '../cluster/helpers.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'plexus-config-watch-only-'));
const file = path.join(dir, 'plexus.json');
const raw = (name: string, capability: string, price = 0): Record<string, unknown> =>
  ({ name, path: 'builtin:silero-vad', capabilities: [capability], session: { intraOpThreads: 1, interOpThreads: 1 }, price });
const segments = { name: 'segments', adapter: { type: 'silero-vad', model: 'vad' }, capabilities: ['speech.vad'] };
const writeConfig = (models: unknown[]): void => { writeFileSync(file, JSON.stringify({ node: { shutdownGraceMs: 1000 }, models })); };

let node: PlexusNode;
beforeAll(async () => {
  writeConfig([raw('vad', 'speech.vad.raw'), segments]);
  const { p2p: _p2p, ...options } = compileNodeOptions({ config: file, grpc: '127.0.0.1:0', dataDir: path.join(dir, 'data'), only: ['speech.vad.raw'] });
  node = createPlexusNode(options, { logger: silentLogger() });
  await node.start();
}, 30_000);
afterAll(async () => {
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('config file watch with --only', () => {
  it('reloads the chosen entries and loads nothing outside the cut', async () => {
    expect(node.models().map((m) => m.name)).toEqual(['vad']);
    writeConfig([raw('vad', 'speech.vad.raw', 3), segments, raw('other', 'speech.other')]);
    await waitFor('vad reloaded at price 3', () => node.models().find((m) => m.name === 'vad')?.price === 3, 15_000);
    expect(node.models().map((m) => m.name)).toEqual(['vad']);
  }, 30_000);
});
