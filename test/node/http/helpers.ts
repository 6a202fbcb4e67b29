// Shared by the HTTP tests: a real node (gRPC + libp2p on 127.0.0.1, HTTP on port 0) and small
// fetch helpers.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compileModelSpecs, vadModelEntries } from '../../../src/inference/index.ts';
import { silentLogger } from '../../../src/logger.ts';
import { createPlexusNode, type PlexusNode } from '../../../src/node/daemon.ts';
import type { NodeOptions } from '../../../src/node/options.ts';

export interface HttpTestNode {
  readonly node: PlexusNode;
  /** http://127.0.0.1:PORT */
  readonly base: string;
  readonly grpc: string;
  close(): Promise<void>;
}

export interface HttpTestNodeInit {
  /** `models:` entries as a user writes them; the embedded default's speech.vad entries when absent (no OCR). */
  readonly models?: unknown[];
  readonly maxMessageBytes?: number;
  /** Peers to join through (static: only these are dialled). */
  readonly bootstrap?: readonly string[];
  readonly noModels?: boolean;
}

export async function startHttpNode(init: HttpTestNodeInit = {}): Promise<HttpTestNode> {
  const options: NodeOptions = {
    grpc: { address: { host: '127.0.0.1', port: 0 }, maxMessageBytes: init.maxMessageBytes ?? 8 * 1024 * 1024, maxStreamInFlight: 4 },
    http: { address: { host: '127.0.0.1', port: 0 } },
    dataDir: mkdtempSync(path.join(tmpdir(), 'plexus-http-test-')),
    logLevel: 'silent',
    shutdownGraceMs: 5000,
    models: init.noModels === true ? [] : compileModelSpecs(init.models ?? vadModelEntries(), process.cwd()),
    p2p: {
      listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: init.bootstrap ?? [], static: true, noModels: init.noModels ?? false,
      routing: { policy: 'plexus', refreshMs: 1000 },
    },
  };
  const node = createPlexusNode(options, { logger: silentLogger() });
  const started = await node.start();
  if (started.http === undefined) throw new Error('the node started without its HTTP port');
  return { node, base: `http://${started.http}`, grpc: started.grpc, close: () => node.stop() };
}

export interface JsonReply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** Parsed body; undefined when empty or not JSON. */
  readonly json: Record<string, unknown> | undefined;
}

export async function request(url: string, init: RequestInit = {}): Promise<JsonReply> {
  const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(30_000) });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = text === '' ? undefined : JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonReply> {
  return request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** One sample line of the Prometheus text, e.g. value(text, 'plexus_requests_total', {api: 'http', ...}). */
export function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const got = new Map([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got.get(k) === v)) return Number(m[2]);
  }
  return undefined;
}
