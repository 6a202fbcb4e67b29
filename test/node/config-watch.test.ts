// The config file watch on a real node started with --config: editing `models:` loads added
// models, reloads changed ones (and the adapters on them), unloads removed ones; an editor that
// replaces the file (write + rename) is seen too; an invalid edit is logged naming the field and
// the node keeps serving the models it had.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelInfo } from '../../src/inference/types.ts';
import { createPlexusNode, type PlexusNode } from '../../src/node/daemon.ts';
import { compileNodeOptions } from '../../src/node/options.ts';
import { waitFor } from '../cluster/helpers.ts';
import { call, connectAll, SPEECH_WAV, vadRequest } from './grpc/helpers.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'plexus-config-watch-'));
const file = path.join(dir, 'plexus.json');
const session = { intraOpThreads: 1, interOpThreads: 1 };
const raw = (price = 0): Record<string, unknown> => ({ name: 'vad', path: 'builtin:silero-vad', capabilities: ['speech.vad.raw'], session, price });
const segments = { name: 'segments', adapter: { type: 'silero-vad', model: 'vad' }, capabilities: ['speech.vad'] };

function writeConfig(models: unknown[], how: 'in-place' | 'replace' = 'in-place'): void {
  const text = JSON.stringify({ node: { shutdownGraceMs: 2000 }, models }, null, 2);
  if (how === 'in-place') {
    writeFileSync(file, text);
    return;
  }
  // What vim and many editors do: write a new file, rename it over the old one.
  const tmp = path.join(dir, '.plexus.json.swp');
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const logLines: string[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => { logLines.push(line); } });

let node: PlexusNode;
let clients: ReturnType<typeof connectAll>;
const models = (): ModelInfo[] => [...node.models()];
const names = (): string[] => models().map((m) => m.name);

beforeAll(async () => {
  writeConfig([raw()]);
  // No libp2p: the watch is about this node's models.
  const { p2p: _p2p, ...options } = compileNodeOptions({ config: file, grpc: '127.0.0.1:0', dataDir: path.join(dir, 'data') });
  expect(options.configFile).toBe(file);
  node = createPlexusNode(options, { logger });
  const started = await node.start();
  clients = connectAll(started.grpc);
});
afterAll(async () => {
  clients.close();
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('config file watch', () => {
  it('loads a model added to the file', async () => {
    expect(names()).toEqual(['vad']);
    writeConfig([raw(), segments]);
    await waitFor('segments to load', () => names().includes('segments'), 10_000);
    const r = await call<{ model_name: string }>(clients.inference, 'ModelInfer', vadRequest(SPEECH_WAV));
    expect(r.model_name).toBe('segments');
  });

  it('reloads a changed model (the adapter on it comes back) when an editor replaces the file', async () => {
    writeConfig([raw(7), segments], 'replace');
    await waitFor('vad to reload at price 7', () => models().find((m) => m.name === 'vad')?.price === 7, 10_000);
    await waitFor('segments back on the new session', () => names().includes('segments'), 10_000);
    expect(names().sort()).toEqual(['segments', 'vad']);
    const r = await call<{ model_name: string }>(clients.inference, 'ModelInfer', vadRequest(SPEECH_WAV));
    expect(r.model_name).toBe('segments');
  });

  it('keeps the running models when an edit is invalid, logging the field', async () => {
    logLines.length = 0;
    writeConfig([{ ...raw(1), maxQueue: -5 }, segments]);
    await waitFor('the invalid edit to be logged', () => logLines.some((l) => l.includes('models[0].maxQueue')), 10_000);
    const logged = JSON.parse(logLines.find((l) => l.includes('models[0].maxQueue')) ?? '{}') as { level?: number; msg?: string };
    expect(logged.level).toBe(50); // error
    expect(logged.msg).toMatch(/invalid; keeping the running models: models\[0\]\.maxQueue: expected >= 0/);
    expect(names().sort()).toEqual(['segments', 'vad']);
    expect(models().find((m) => m.name === 'vad')?.price).toBe(7);
    const r = await call<{ model_name: string }>(clients.inference, 'ModelInfer', vadRequest(SPEECH_WAV));
    expect(r.model_name).toBe('segments');
  });

  it('unloads a model removed from the file', async () => {
    writeConfig([raw(7)]);
    await waitFor('segments to unload', () => !names().includes('segments'), 10_000);
    expect(names()).toEqual(['vad']);
    const idx = await call<{ models: { name: string; state: string }[] }>(clients.inference, 'RepositoryIndex', {});
    expect(idx.models).toEqual([expect.objectContaining({ name: 'vad', state: 'READY' })]);
  });
});
