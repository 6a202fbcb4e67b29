// Shared by the cluster tests: in-process Plexus nodes on loopback (real gRPC, real libp2p),
// with short route refresh/expiry so joins and failures settle within a second or two.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { compileModelSpecs } from '../../src/inference/index.ts';
import { silentLogger, type Logger } from '../../src/logger.ts';
import { createPlexusNode, type PlexusNode } from '../../src/node/daemon.ts';
import { compileNodeOptions, type NodeOptions } from '../../src/node/options.ts';
import type { P2PService } from '../../src/node/p2p/service.ts';
import type { RoutingTableOptions } from '../../src/routing/table.ts';
import { call, connectAll } from '../node/grpc/helpers.ts';

// Joins, withdrawals and failures travel as triggered updates and disconnects, not at the
// refresh; a short refresh only makes routes expire on a starved (2-core, busy) test box.
export const REFRESH_MS = 1000;
/** Routes not refreshed for this long expire (3 missed refreshes). */
export const HOLD_MS = REFRESH_MS * 3;

export interface ClusterNodeInit {
  /** Reuse a data dir (same identity key): a restart keeps its peer id. */
  readonly dataDir?: string;
  readonly bootstrap?: readonly string[];
  readonly static?: boolean;
  readonly noModels?: boolean;
  /** `models:` entries as a user writes them; the embedded default (silero VAD) when absent. */
  readonly models?: unknown[];
  readonly refreshMs?: number;
  readonly shutdownGraceMs?: number;
  /** Fixed listen address (a restart on the same port); default an ephemeral loopback port. */
  readonly listen?: string;
  /** Debugging: a real logger instead of the silent one. */
  readonly logger?: Logger;
  /** Routing table options (e.g. a link cost floor that makes a path look slow). */
  readonly table?: RoutingTableOptions;
  /** Neighbour ping (RTT and liveness) period. */
  readonly pingEveryMs?: number;
  /** Export traces to this OTLP/HTTP endpoint (tracing is off without it). */
  readonly otlpEndpoint?: string;
  /** Open the HTTP port (REST) on an ephemeral loopback port. */
  readonly http?: boolean;
}

export interface ClusterNode {
  readonly node: PlexusNode;
  readonly peerId: string;
  /** libp2p multiaddrs ending /p2p/<peer id>. */
  readonly addrs: readonly string[];
  readonly grpc: string;
  readonly dataDir: string;
  readonly inference: grpc.Client;
  readonly plexus: grpc.Client;
  cluster(): P2PService;
  /** Stop the node and close its clients (the data dir is kept). */
  close(): Promise<void>;
}

const dirs: string[] = [];

export function tempDir(prefix = 'plexus-cluster-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A raw silero-vad model (cheap, ~1 ms a call) with a price and an injected delay. */
export function rawVadModel(opts: { price?: number; delayMs?: number; errorRate?: number; maxConcurrent?: number } = {}): Record<string, unknown> {
  return {
    name: 'silero-vad', path: 'builtin:silero-vad', capabilities: ['speech.vad.raw'],
    session: { intraOpThreads: 1, interOpThreads: 1 },
    price: opts.price ?? 0, maxConcurrent: opts.maxConcurrent ?? 4, maxQueue: 256,
    fault: { delayMs: opts.delayMs ?? 0, errorRate: opts.errorRate ?? 0 },
  };
}

export async function startClusterNode(init: ClusterNodeInit = {}): Promise<ClusterNode> {
  const dataDir = init.dataDir ?? tempDir();
  const compiled = compileNodeOptions({
    grpc: '127.0.0.1:0', dataDir, logLevel: 'silent',
    listen: [init.listen ?? '/ip4/127.0.0.1/tcp/0'],
    bootstrap: [...(init.bootstrap ?? [])],
    static: init.static ?? false,
    noModels: init.noModels ?? false,
    ...(init.otlpEndpoint === undefined ? {} : { otlpEndpoint: init.otlpEndpoint }),
    ...(init.http === true ? { http: '127.0.0.1:0' } : {}),
  });
  const options: NodeOptions = {
    ...compiled,
    shutdownGraceMs: init.shutdownGraceMs ?? 2000,
    models: init.noModels === true ? [] : compileModelSpecs(init.models ?? [rawVadModel()], process.cwd()),
  };
  const refreshMs = init.refreshMs ?? REFRESH_MS;
  const node = createPlexusNode(options, { logger: init.logger ?? silentLogger(), p2p: { refreshMs, ...(init.table === undefined ? {} : { table: init.table }), ...(init.pingEveryMs === undefined ? {} : { pingEveryMs: init.pingEveryMs }) } });
  const started = await node.start();
  const clients = connectAll(started.grpc);
  return {
    node, peerId: started.peerId, addrs: started.multiaddrs, grpc: started.grpc, dataDir,
    inference: clients.inference, plexus: clients.plexus,
    cluster() {
      const c = node.cluster();
      if (c === undefined) throw new Error('node has no running cluster service');
      return c;
    },
    async close() {
      clients.close();
      await node.stop();
    },
  };
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 25): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Origins of the routes a node knows for a model or capability (itself included when it hosts it). */
export function originsFor(n: ClusterNode, capability: string): Set<string> {
  return new Set(n.cluster().routes().filter((r) => r.model === capability || r.capabilities.includes(capability)).map((r) => r.origin));
}

/** A KServe parameter map as grpc-js hands it back. */
export type WireParams = Record<string, { parameter_choice?: string; string_param?: string; double_param?: number; int64_param?: string | number; bool_param?: boolean }>;

export interface InferResponse {
  model_name: string;
  id: string;
  parameters: WireParams;
  raw_output_contents: Buffer[];
}

/** One raw silero-vad window (512 samples at 16 kHz): the cheapest real query. */
export function rawVadRequest(model: string, params: Record<string, string | number> = {}, id = ''): Record<string, unknown> {
  const samples = new Float32Array(512).map((_, i) => 0.3 * Math.sin(i / 5));
  const state = new Float32Array(2 * 128);
  const sr = new BigInt64Array([16000n]);
  const parameters: WireParams = {};
  for (const [k, v] of Object.entries(params)) parameters[k] = typeof v === 'string' ? { string_param: v } : { double_param: v };
  return {
    model_name: model, id,
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [1, 512] },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128] },
      { name: 'sr', datatype: 'INT64', shape: [] },
    ],
    outputs: [{ name: 'output' }],
    raw_input_contents: [Buffer.from(samples.buffer), Buffer.from(state.buffer), Buffer.from(sr.buffer)],
    parameters,
  };
}

export function infer(n: ClusterNode, params: Record<string, string | number> = {}, timeoutMs = 10_000, model = 'speech.vad.raw'): Promise<InferResponse> {
  return call<InferResponse>(n.inference, 'ModelInfer', rawVadRequest(model, params), timeoutMs);
}

export function paramString(p: WireParams, key: string): string | undefined {
  const v = p[key];
  if (v === undefined) return undefined;
  if (v.string_param !== undefined && v.parameter_choice !== 'double_param' && v.parameter_choice !== 'int64_param') return v.string_param;
  if (v.parameter_choice === 'double_param') return String(v.double_param);
  if (v.parameter_choice === 'int64_param') return String(v.int64_param);
  return v.string_param;
}

export function paramNumber(p: WireParams, key: string): number | undefined {
  const s = paramString(p, key);
  return s === undefined ? undefined : Number(s);
}

/** A node in its own process (`plexus node start --json`), so a test can SIGKILL it. */
export interface DaemonProcess {
  readonly peerId: string;
  readonly addrs: readonly string[];
  readonly grpc: string;
  readonly proc: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface DaemonProcessInit {
  readonly dataDir: string;
  readonly listen?: string | undefined;
  readonly bootstrap?: readonly string[];
  readonly static?: boolean;
  readonly noModels?: boolean;
  readonly refreshMs?: number;
  /** `models:` entries of its config file; the node's defaults when absent. */
  readonly models?: unknown[];
  /** More top-level config file sections (e.g. `inference`), beside the test's `node` section. */
  readonly config?: Record<string, unknown>;
  /** More `node start` flags (e.g. `--only ocr.detect`). */
  readonly args?: readonly string[];
}

const ROOT = path.resolve(import.meta.dirname, '../..');

export async function startDaemonProcess(init: DaemonProcessInit): Promise<DaemonProcess> {
  const config = path.join(init.dataDir, 'test-config.json');
  writeFileSync(config, JSON.stringify({
    ...init.config, node: { routing: { refreshMs: init.refreshMs ?? REFRESH_MS }, shutdownGraceMs: 1000 }, ...(init.models === undefined ? {} : { models: init.models }),
  }));
  const args = [
    path.join(ROOT, 'src/cli/main.ts'), 'node', 'start', '--json', '--log-level', 'silent', '--config', config,
    '--grpc', '127.0.0.1:0', '--data-dir', init.dataDir, '--listen', init.listen ?? '/ip4/127.0.0.1/tcp/0',
    ...(init.bootstrap ?? []).flatMap((b) => ['--bootstrap', b]),
    ...(init.static === true ? ['--static'] : []), ...(init.noModels === true ? ['--no-models'] : []),
    ...(init.args ?? []),
  ];
  const proc = spawn(path.join(ROOT, 'node_modules/.bin/node'), args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => { proc.once('exit', () => { resolve(); }); });
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-4000); });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { reject(new Error(`daemon did not start within 20 s: ${stderr}`)); }, 20_000);
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); resolve(out.slice(0, nl)); }
    });
    void exited.then(() => { clearTimeout(timer); reject(new Error(`daemon exited (code ${String(proc.exitCode)}, signal ${String(proc.signalCode)}) before it was ready: ${stderr}`)); });
  });
  const info = JSON.parse(line) as { peerId: string; grpc: string; multiaddrs: string[] };
  return {
    peerId: info.peerId, addrs: info.multiaddrs, grpc: info.grpc, proc, exited,
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}
