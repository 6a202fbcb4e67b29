// A daemon in a child process (so its memory can be read from /proc), hand-built protobuf
// messages too big to build through protobufjs in a test, and raw gRPC calls that send them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadServices } from '../../src/wire/protos.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface ChildDaemon {
  readonly pid: number;
  readonly grpc: string;
  readonly http: string;
  readonly proc: ChildProcess;
  stop(): Promise<void>;
}

/** `node:` section of the config file (limits etc.); a pure router with an HTTP port, all on loopback. */
export async function startChildDaemon(node: Record<string, unknown> = {}, nodeArgs: readonly string[] = []): Promise<ChildDaemon> {
  const dir = mkdtempSync(path.join(tmpdir(), 'plexus-limits-'));
  const config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ node: { shutdownGraceMs: 500, ...node } }));
  const args = [...nodeArgs, path.join(ROOT, 'src/cli/main.ts'), 'node', 'start', '--json', '--log-level', 'silent', '--config', config,
    '--grpc', '127.0.0.1:0', '--http', '127.0.0.1:0', '--data-dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--static', '--no-models'];
  const proc = spawn(path.join(ROOT, 'node_modules/.bin/node'), args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => { proc.once('exit', () => resolve()); });
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-4000); });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`daemon did not start within 20 s: ${stderr}`)), 20_000);
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); resolve(out.slice(0, nl)); }
    });
    void exited.then(() => { clearTimeout(timer); reject(new Error(`daemon exited before it was ready: ${stderr}`)); });
  });
  const info = JSON.parse(line) as { grpc: string; http: string };
  return {
    pid: proc.pid ?? 0, grpc: info.grpc, http: info.http, proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** VmRSS and VmHWM (peak) of a process, in bytes. */
export function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Resets the process's peak RSS (VmHWM) to its current RSS (Linux clear_refs "5"). */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

// --- protobuf by hand ---
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  do {
    const b = v % 128;
    v = Math.floor(v / 128);
    out.push(v > 0 ? b | 0x80 : b);
  } while (v > 0);
  return Buffer.from(out);
}
export const lenField = (field: number, body: Buffer): Buffer => Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
const text = (field: number, s: string): Buffer => lenField(field, Buffer.from(s));

/** A ModelInferRequest with one input whose InferTensorContents body is given as is. */
export function inferMessage(model: string, datatype: string, shape: number, contents: Buffer): Buffer {
  const input = Buffer.concat([text(1, 'x'), text(2, datatype), lenField(3, varint(shape)), lenField(5, contents)]);
  return Buffer.concat([text(1, model), lenField(5, input)]);
}

/** `n` empty elements of bytes_contents (field 8): 2 bytes each. */
export function emptyBytesContents(n: number): Buffer {
  const body = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) body[2 * i] = 0x42;
  return body;
}

/** `n` zeros of int64_contents (field 3), packed: 1 byte each. */
export function int64ZerosContents(n: number): Buffer {
  return lenField(3, Buffer.alloc(n));
}

const passthrough = (b: Buffer): Buffer => b;

/** ModelInfer with a pre-serialized request; resolves with the status code and details. */
export function rawModelInfer(address: string, message: Buffer, timeoutMs = 30_000): Promise<{ code: grpc.status; details: string }> {
  return rawUnary(address, 'ModelInfer', message, timeoutMs);
}

/** A KServe unary method with a pre-serialized request; resolves with the status code and details. */
export function rawUnary(address: string, method: string, message: Buffer, timeoutMs = 30_000): Promise<{ code: grpc.status; details: string }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 128 * 1024 * 1024 });
  const decode = loadServices().inference.service[method]?.responseDeserialize ?? passthrough;
  return new Promise((resolve) => {
    client.makeUnaryRequest(`/inference.GRPCInferenceService/${method}`, passthrough, decode, message, new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs }, (e) => {
        client.close();
        resolve(e ? { code: e.code, details: e.details } : { code: grpc.status.OK, details: '' });
      });
  });
}

/** ModelStreamInfer with one pre-serialized request; resolves with the in-band error_message. */
export function rawStreamInfer(address: string, message: Buffer, timeoutMs = 30_000): Promise<string> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 128 * 1024 * 1024 });
  const decode = loadServices().inference.service.ModelStreamInfer?.responseDeserialize ?? passthrough;
  return new Promise((resolve, reject) => {
    const call = client.makeBidiStreamRequest('/inference.GRPCInferenceService/ModelStreamInfer', passthrough, decode, new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs });
    call.on('data', (r: { error_message: string }) => { resolve(r.error_message); call.end(); });
    call.on('error', (e) => reject(e));
    call.on('end', () => client.close());
    call.write(message);
  });
}
