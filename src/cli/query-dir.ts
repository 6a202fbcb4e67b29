// `plexus query --input DIR`: send every file of a directory (concurrently, through
// PlexusClient), show progress on stderr, print one line per file and a summary: count,
// failures by status, p50/p99 latency of the answered queries, peers that served them.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PlexusClient } from '../client/index.ts';
import type { ClientAuth } from './connect-auth.ts';
import { fromServiceError } from '../client/errors.ts';
import type { InferResult, Tensor } from '../client/types.ts';
import { parseHostPort } from '../wire/address.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError } from './cli-error.ts';
import { shortId, table } from './cluster.ts';
import { describeOcr, ocrJson, type OutputValues } from './ocr-format.ts';
import { pickInput, sniffFile } from './query-input.ts';

export const MAX_CONCURRENCY = 256;

export interface QueryDirOptions {
  readonly target: string;
  readonly model: string;
  readonly dir: string;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly json: boolean;
  /** Token and TLS for a protected node (--token-file, --tls-*). */
  readonly auth?: ClientAuth;
}

export interface FileOutcome {
  readonly file: string;
  readonly ms: number;
  readonly ok: boolean;
  readonly status?: string;
  readonly code?: number;
  readonly message?: string;
  readonly servedBy?: string;
  readonly result?: InferResult;
}

export function parseConcurrency(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) throw new UsageError(`--concurrency: expected an integer 1..${MAX_CONCURRENCY}, got '${text}'`);
  return n;
}

/** Regular files directly in `dir` (not recursive, dotfiles skipped), sorted by name. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

/** Nearest-rank percentile of sorted values; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
}

/** A progress bar redrawn in place on a terminal; a count line every 10% otherwise. */
function progressReporter(total: number, tty: boolean): { update(done: number, failed: number): void; clear(): void } {
  let last = '';
  let lastDecile = -1;
  return {
    update(done, failed) {
      const failedText = failed > 0 ? `, ${failed} failed` : '';
      if (tty) {
        const width = 30;
        const filled = Math.round((done / total) * width);
        last = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${failedText}`;
        process.stderr.write(`\r\x1b[K${last}`);
        return;
      }
      const decile = Math.floor((done / total) * 10);
      if (decile !== lastDecile || done === total) {
        lastDecile = decile;
        process.stderr.write(`plexus: ${done}/${total} done${failedText}\n`);
      }
    },
    clear() {
      if (tty && last !== '') process.stderr.write('\r\x1b[K');
    },
  };
}

function describeResult(result: InferResult): string {
  const seg = result.outputs.find((o) => o.name === 'segments' && o.datatype === 'FP32' && o.shape.length === 2 && o.shape[1] === 2);
  if (seg) {
    const n = seg.shape[0] ?? 0;
    return n === 0 ? 'no speech' : `${n} speech segment(s)`;
  }
  const ocr = describeOcr(result.outputs.map(values));
  if (ocr !== undefined) return ocr;
  return result.outputs.map((o) => `${o.name} ${o.datatype} [${o.shape.join(',')}]`).join(', ');
}

function jsonLine(o: FileOutcome): string {
  if (!o.ok || !o.result) {
    return JSON.stringify({ file: o.file, ok: false, ms: round(o.ms), status: o.status, code: o.code, message: o.message });
  }
  const seg = o.result.outputs.find((t) => t.name === 'segments' && t.data instanceof Float32Array);
  const segments = seg?.data instanceof Float32Array
    ? Array.from({ length: seg.data.length >> 1 }, (_, i) => ({ start: round(seg.data[2 * i] as number), end: round(seg.data[2 * i + 1] as number) }))
    : undefined;
  return JSON.stringify({
    file: o.file, ok: true, ms: round(o.ms), model: o.result.model, version: o.result.version,
    ...(o.servedBy !== undefined ? { servedBy: o.servedBy, route: o.result.route?.route, cost: o.result.route?.cost } : {}),
    ...(segments ? { segments } : {}),
    ...ocrJson(o.result.outputs.map(values)),
  });
}

/** A tensor with BYTES elements as UTF-8 strings, for the OCR formatters. */
function values(t: Tensor): OutputValues {
  return { name: t.name, datatype: t.datatype, shape: t.shape, data: Array.isArray(t.data) ? t.data.map((b) => Buffer.from(b).toString('utf8')) : t.data };
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

export interface Summary {
  readonly count: number;
  readonly ok: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly peers: Record<string, number>;
  readonly wallMs: number;
}

export function summarize(outcomes: readonly FileOutcome[], wallMs: number): Summary {
  const failures: Record<string, number> = {};
  const peers: Record<string, number> = {};
  const latencies: number[] = [];
  for (const o of outcomes) {
    if (!o.ok) {
      const status = o.status ?? 'UNKNOWN';
      failures[status] = (failures[status] ?? 0) + 1;
      continue;
    }
    latencies.push(o.ms);
    if (o.servedBy !== undefined) peers[o.servedBy] = (peers[o.servedBy] ?? 0) + 1;
  }
  latencies.sort((a, b) => a - b);
  const p = (q: number): number | null => (latencies.length === 0 ? null : round(percentile(latencies, q)));
  const failed = outcomes.length - latencies.length;
  return { count: outcomes.length, ok: latencies.length, failed, failures, p50Ms: p(0.5), p99Ms: p(0.99), peers, wallMs: round(wallMs) };
}

export function formatSummary(s: Summary): string {
  const ms = (v: number | null): string => (v === null ? '-' : v.toFixed(1));
  const failures = Object.entries(s.failures).map(([k, v]) => `${k} ${v}`).join(', ') || '-';
  const peers = Object.entries(s.peers).map(([k, v]) => `${shortId(k)} ${v}`).join(', ') || '- (node does not route)';
  return table(
    ['FILES', 'OK', 'FAILED', 'FAILURES', 'P50 ms', 'P99 ms', 'WALL s', 'PEERS'],
    [[String(s.count), String(s.ok), String(s.failed), failures, ms(s.p50Ms), ms(s.p99Ms), (s.wallMs / 1000).toFixed(2), peers]],
  );
}

export async function runQueryDir(opts: QueryDirOptions): Promise<number> {
  if (!parseHostPort(opts.target)) throw new UsageError(`--target: '${opts.target}' is not HOST:PORT`);
  const files = await listFiles(opts.dir);
  if (files.length === 0) throw new UsageError(`--input: directory '${opts.dir}' has no files`);
  const client = new PlexusClient(opts.target, { timeoutMs: opts.timeoutMs, ...opts.auth });
  try {
    // One metadata lookup up front: a wrong model fails the command once, not every file.
    const meta = await client.modelMetadata(opts.model);
    // Each file goes to the input its type picks (an image to 'image', a WAV to 'audio'); checked
    // once here for a file of no known type, so a model that takes no file fails the command once.
    pickInput(opts.model, meta.inputs, undefined);
    const inputFor = (bytes: Uint8Array): string => pickInput(opts.model, meta.inputs, sniffFile(bytes));
    const progress = progressReporter(files.length, process.stderr.isTTY);
    const outcomes: FileOutcome[] = [];
    let failed = 0;
    const emit = (o: FileOutcome): void => {
      outcomes.push(o);
      if (!o.ok) failed += 1;
      progress.clear();
      if (opts.json) process.stdout.write(`${jsonLine(o)}\n`);
      else if (o.ok && o.result) process.stdout.write(`${o.file}  ${describeResult(o.result)}  ${o.ms.toFixed(1)} ms${o.servedBy !== undefined ? `  served by ${shortId(o.servedBy)}` : ''}\n`);
      else process.stdout.write(`${o.file}  ${o.status ?? 'FAILED'}: ${o.message ?? ''}\n`);
      progress.update(outcomes.length, failed);
    };

    const started = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const file = files[next++] ?? '';
        emit(await queryOne(client, opts, file, inputFor));
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, files.length) }, worker));
    progress.clear();
    const summary = summarize(outcomes, performance.now() - started);
    process.stdout.write(opts.json ? `${JSON.stringify({ summary })}\n` : formatSummary(summary));
    return summary.failed > 0 ? EXIT_FAILURE : EXIT_OK;
  } finally {
    client.close();
  }
}

async function queryOne(client: PlexusClient, opts: QueryDirOptions, file: string, inputFor: (bytes: Uint8Array) => string): Promise<FileOutcome> {
  let t0 = performance.now();
  try {
    const bytes = await readFile(path.join(opts.dir, file));
    const name = inputFor(bytes);
    t0 = performance.now();
    const result = await client.infer({ model: opts.model, inputs: [{ name, datatype: 'BYTES', shape: [1], data: [bytes] }], timeoutMs: opts.timeoutMs });
    return { file, ms: performance.now() - t0, ok: true, result, ...(result.route ? { servedBy: result.route.servedBy } : {}) };
  } catch (e) {
    const err = fromServiceError(e);
    return { file, ms: performance.now() - t0, ok: false, status: err.codeName, code: err.code, message: err.details };
  }
}
