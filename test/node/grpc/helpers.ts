// Shared by the gRPC tests: a real daemon on 127.0.0.1:0 and real gRPC clients.
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { compileModelSpecs, vadModelEntries } from '../../../src/inference/index.ts';
import { silentLogger } from '../../../src/logger.ts';
import { createPlexusNode, type PlexusNode } from '../../../src/node/daemon.ts';
import { DEFAULT_LIMITS, type NodeLimits, type NodeOptions } from '../../../src/node/options.ts';
import { loadServices } from '../../../src/wire/protos.ts';

export const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures');
export const SPEECH_WAV = readFileSync(path.join(FIXTURES, 'speech-22k-mono.wav'));
export const SPEECH_TRUTH = JSON.parse(readFileSync(path.join(FIXTURES, 'speech.json'), 'utf8')) as { speech: [number, number][] };

export interface TestNode {
  readonly node: PlexusNode;
  readonly address: string;
  readonly inference: grpc.Client;
  readonly health: grpc.Client;
  readonly plexus: grpc.Client;
  close(): Promise<void>;
}

export interface TestNodeInit {
  /** `models:` entries as a user writes them; the embedded default's speech.vad entries when absent (no OCR). */
  readonly models?: unknown[];
  readonly maxMessageBytes?: number;
  readonly maxStreamInFlight?: number;
  readonly shutdownGraceMs?: number;
  /** Limits that differ from the defaults. */
  readonly limits?: Partial<NodeLimits>;
}

export async function startTestNode(init: TestNodeInit = {}): Promise<TestNode> {
  const options: NodeOptions = {
    grpc: {
      address: { host: '127.0.0.1', port: 0 },
      maxMessageBytes: init.maxMessageBytes ?? 64 * 1024 * 1024,
      maxStreamInFlight: init.maxStreamInFlight ?? 4,
    },
    dataDir: mkdtempSync(path.join(tmpdir(), 'plexus-grpc-test-')),
    logLevel: 'silent',
    shutdownGraceMs: init.shutdownGraceMs ?? 5000,
    models: compileModelSpecs(init.models ?? vadModelEntries(), process.cwd()),
    ...(init.limits === undefined ? {} : { limits: { ...DEFAULT_LIMITS, ...init.limits } }),
  };
  const node = createPlexusNode(options, { logger: silentLogger() });
  const { grpc: address } = await node.start();
  const clients = connectAll(address);
  return {
    node, address, ...clients,
    async close() {
      clients.close();
      await node.stop();
    },
  };
}

export function connectAll(address: string): { inference: grpc.Client; health: grpc.Client; plexus: grpc.Client; close(): void } {
  const s = loadServices();
  const creds = grpc.credentials.createInsecure();
  const opts = { 'grpc.max_receive_message_length': 256 * 1024 * 1024, 'grpc.max_send_message_length': 256 * 1024 * 1024 };
  const inference = new s.inference(address, creds, opts);
  const health = new s.health(address, creds, opts);
  const plexus = new s.plexus(address, creds, opts);
  return { inference, health, plexus, close: () => { inference.close(); health.close(); plexus.close(); } };
}

type Callback = (error: grpc.ServiceError | null, response?: unknown) => void;
type Method = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => grpc.ClientUnaryCall;

/** A unary call; resolves with the response or rejects with the ServiceError. */
export function call<T = Record<string, unknown>>(client: grpc.Client, method: string, request: unknown, timeoutMs = 20_000): Promise<T> {
  const fn = (client as unknown as Record<string, Method>)[method];
  if (!fn) throw new Error(`no method ${method}`);
  return new Promise((resolve, reject) => {
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (e, r) => (e ? reject(e) : resolve(r as T)));
  });
}

/** The ServiceError a call fails with; throws if it succeeds. */
export async function callError(client: grpc.Client, method: string, request: unknown, timeoutMs?: number): Promise<grpc.ServiceError> {
  try {
    await call(client, method, request, timeoutMs);
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error(`${method} unexpectedly succeeded`);
}

/** A 16-bit PCM mono WAV: `seconds` of a low tone, so the VAD has real work to do. */
export function toneWav(seconds: number, sampleRate = 16000): Buffer {
  const frames = Math.round(seconds * sampleRate);
  const buf = Buffer.alloc(44 + frames * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + frames * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(sampleRate, 24); buf.writeUInt32LE(sampleRate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(frames * 2, 40);
  for (let i = 0; i < frames; i++) buf.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 220 * i) / sampleRate)), 44 + i * 2);
  return buf;
}

/** The VAD capability request with the WAV as typed bytes_contents. */
export function vadRequest(wav: Uint8Array, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_name: 'speech.vad',
    inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [wav] } }],
    ...extra,
  };
}

export function fp32(bytes: Uint8Array): number[] {
  return Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
}
