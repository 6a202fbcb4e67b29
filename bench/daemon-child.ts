// One Plexus daemon in its own process, so the bench can read its CPU time and RSS from /proc
// honestly. argv[2] is a JSON ChildSpec. Prints one line `READY <json>` once serving, stops
// cleanly on SIGTERM or when stdin closes (the parent died).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileNodeOptions, type NodeFlags } from '../src/node/options.ts';
import { createPlexusNode, type PlexusNode } from '../src/node/daemon.ts';

export interface ChildSpec {
  /** The `models:` section of a config file; omitted = the node's defaults. */
  readonly models?: readonly unknown[];
  /** Extra `node:` settings of the config file (e.g. p2p listen/bootstrap once they exist). */
  readonly node?: Readonly<Record<string, unknown>>;
  readonly logLevel?: string;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-node-'));
const configPath = join(dir, 'config.json');
const config: Record<string, unknown> = { node: { ...(spec.node ?? {}) } };
if (spec.models !== undefined) config['models'] = spec.models;
writeFileSync(configPath, JSON.stringify(config));
const flags: NodeFlags = { config: configPath, grpc: '127.0.0.1:0', dataDir: join(dir, 'data'), logLevel: spec.logLevel ?? 'warn' };
// listenAddrs() arrives with the libp2p layer; until then the node has none.
const node: PlexusNode & { listenAddrs?: () => readonly string[] } = createPlexusNode(compileNodeOptions(flags, { cwd: dir }));
const started = await node.start();
process.stdout.write(`READY ${JSON.stringify({ grpc: started.grpc, peerId: node.peerId(), listenAddrs: node.listenAddrs?.() ?? [], models: node.models().map((m) => m.name) })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  node.stop().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
