// `plexus job submit`: one item per file (its bytes as the model's first input, which must be
// BYTES, as `plexus query` sends them). A directory goes in calls of at most MAX_CALL_ITEMS
// items and MAX_CALL_BYTES bytes: SubmitJob with the first, AddItems with the rest (each file is
// read only when its call is built, so a large directory is never held in memory at once).
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { InferRequest, JobSpec, PlexusClient } from '../client/index.ts';
import { EXIT_OK, UsageError } from './cli-error.ts';
import { number, type JobArgs } from './job-args.ts';

export const MAX_CALL_ITEMS = 1000;
export const MAX_CALL_BYTES = 32 * 1024 * 1024;

async function inputFiles(input: string): Promise<string[]> {
  const info = await stat(input).catch((e: unknown) => { throw new UsageError(`--input: cannot read '${input}': ${(e as Error).message}`); });
  if (!info.isDirectory()) return [input];
  const entries = await readdir(input, { withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => path.join(input, e.name)).sort();
  if (files.length === 0) throw new UsageError(`--input: directory '${input}' has no files`);
  return files;
}

/** Files grouped into calls by count and size (a file larger than MAX_CALL_BYTES goes alone). */
async function* calls(files: readonly string[]): AsyncGenerator<{ first: number; bytes: Buffer[] }> {
  let batch: Buffer[] = [];
  let size = 0;
  let first = 0;
  for (const f of files) {
    const bytes = await readFile(f).catch((e: unknown) => { throw new UsageError(`--input: cannot read '${f}': ${(e as Error).message}`); });
    if (batch.length > 0 && (batch.length >= MAX_CALL_ITEMS || size + bytes.byteLength > MAX_CALL_BYTES)) {
      yield { first, bytes: batch };
      first += batch.length;
      batch = [];
      size = 0;
    }
    batch.push(bytes);
    size += bytes.byteLength;
  }
  yield { first, bytes: batch };
}

export async function runJobSubmit(client: PlexusClient, values: JobArgs['values']): Promise<number> {
  for (const required of ['model', 'input'] as const) {
    if (values[required] === undefined) throw new UsageError(`--${required} is required (see plexus job --help)`);
  }
  const model = values.model ?? '';
  const files = await inputFiles(values.input ?? '');
  // One metadata lookup: a wrong model fails the command once, before anything is stored.
  const meta = await client.modelMetadata(model);
  const first = meta.inputs[0];
  if (first?.datatype !== 'BYTES') {
    throw new UsageError(`model '${model}' takes ${first ? `${first.datatype} input '${first.name}'` : 'no inputs'}; plexus job submit sends files as a BYTES input (try a capability such as speech.vad)`);
  }
  const item = (bytes: Buffer): InferRequest => ({ model, inputs: [{ name: first.name, datatype: 'BYTES', shape: [1], data: [bytes] }] });
  const maxCost = number('max-cost', values['max-cost'], 0, 1e15);
  const deadlineS = number('deadline-s', values['deadline-s'], 1, 7 * 24 * 3600);
  const concurrency = number('concurrency', values.concurrency, 1, 256, true);
  const maxRetries = number('max-retries', values['max-retries'], 0, 10, true);
  const settings: Omit<JobSpec, 'items'> = {
    ...(maxCost === undefined ? {} : { maxCost }), ...(deadlineS === undefined ? {} : { deadlineS }),
    ...(concurrency === undefined ? {} : { concurrency }), ...(maxRetries === undefined ? {} : { maxRetries }),
    ...(values['idempotency-key'] === undefined ? {} : { idempotencyKey: values['idempotency-key'] }),
    label: values.label ?? path.basename(values.input ?? ''),
  };
  const batches = calls(files);
  const head = await batches.next();
  const firstBatch = head.done === true ? { first: 0, bytes: [] } : head.value;
  const more = firstBatch.bytes.length < files.length;
  const submitted = await client.jobs.submitJob({ ...settings, items: firstBatch.bytes.map(item), moreItems: more });
  let total = submitted.items;
  // Also after `existing`: a resubmission with the same key completes an upload a crash cut short (held items are skipped).
  if (more) {
    for await (const b of batches) {
      total = await client.jobs.addItems(submitted.jobId, b.first, b.bytes.map(item), { last: b.first + b.bytes.length >= files.length });
    }
  }
  process.stdout.write(values.json ? `${JSON.stringify({ jobId: submitted.jobId, items: total, existing: submitted.existing })}\n` : `${submitted.jobId}\n`);
  return EXIT_OK;
}
