// `plexus job submit|watch|get|cancel|list|delete`: durable async jobs on a node (plexus.v1.Jobs)
// through plexus/client's PlexusJobs.
import { PlexusClient } from '../client/index.ts';
import { parseHostPort } from '../wire/address.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError } from './cli-error.ts';
import { AUTH_HELP, clientAuth } from './connect-auth.ts';
import { parseJobArgs } from './job-args.ts';
import { finishedCount, formatItems, formatJob, formatJobList, itemJson, jobJson, progressLine } from './job-format.ts';
import { parseTimeout } from './node-info.ts';

export const JOB_HELP = `Usage: plexus job <command> --target HOST:PORT [options]

Commands:
  submit --model NAME --input FILE|DIR [--max-cost N] [--deadline-s S] [--concurrency N]
         [--max-retries N] [--idempotency-key K] [--label TEXT] [--json]
                 store a job of one item per file (its bytes as the model's BYTES input);
                 prints the job id at once
  watch ID       follow a job until it ends: a progress bar (items, rate, ETA, failures by
                 status) on a terminal, one JSON line per event otherwise; exit 1 unless
                 it COMPLETED with no failed item
  get ID [--items] [--json]
                 the job's state and counts (--items: per-item outcomes; --json: with answers)
  cancel ID      pending items are not started, running ones are cancelled
  list [--state STATE] [--json]
                 the node's newest jobs
  delete ID      cancel if running, then remove the job and its results

Common options:
  --target HOST:PORT   the node's gRPC address (required)
  --timeout-ms N       deadline of each call (default 30000)
${AUTH_HELP}  -h, --help           show this help
`;

export { number, type JobArgs } from './job-args.ts';

export async function runJob(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(JOB_HELP);
    return command === undefined ? 2 : EXIT_OK;
  }
  const { values, positionals } = parseJobArgs(rest);
  if (values.help) {
    process.stdout.write(JOB_HELP);
    return EXIT_OK;
  }
  const target = values.target;
  if (target === undefined) throw new UsageError(`--target is required (see plexus job --help)`);
  if (!parseHostPort(target)) throw new UsageError(`--target: '${target}' is not HOST:PORT`);
  const client = new PlexusClient(target, { timeoutMs: parseTimeout(values['timeout-ms']), ...clientAuth(values) });
  const id = (): string => {
    const [jobId, extra] = positionals;
    if (jobId === undefined || extra !== undefined) throw new UsageError(`plexus job ${command}: expected one job id`);
    return jobId;
  };
  try {
    switch (command) {
      case 'submit': return await (await import('./job-submit.ts')).runJobSubmit(client, values);
      case 'watch': return await watch(client, id());
      case 'get': {
        const d = await client.jobs.getJob(id(), { items: values.items || values.json, results: values.json, pageSize: 1000 });
        if (values.json) process.stdout.write(`${JSON.stringify({ job: jobJson(d.job), items: d.items.map(itemJson), ...(d.nextPageStart === undefined ? {} : { nextPageStart: d.nextPageStart }) })}\n`);
        else process.stdout.write(formatJob(d.job) + (values.items ? formatItems(d.items) : ''));
        return EXIT_OK;
      }
      case 'cancel': {
        const j = await client.jobs.cancelJob(id());
        process.stdout.write(values.json ? `${JSON.stringify(jobJson(j))}\n` : formatJob(j));
        return EXIT_OK;
      }
      case 'list': {
        const jobs = await client.jobs.listJobs({ limit: 100, ...(values.state === undefined ? {} : { state: values.state as never }) });
        process.stdout.write(values.json ? `${JSON.stringify(jobs.map(jobJson))}\n` : formatJobList(jobs));
        return EXIT_OK;
      }
      case 'delete': {
        const jobId = id();
        await client.jobs.deleteJob(jobId);
        process.stdout.write(`${jobId} deleted\n`);
        return EXIT_OK;
      }
      default: throw new UsageError(`unknown command 'job ${command}' (expected submit, watch, get, cancel, list or delete)`);
    }
  } finally {
    client.close();
  }
}

async function watch(client: PlexusClient, jobId: string): Promise<number> {
  const tty = process.stdout.isTTY;
  const started = performance.now();
  let first: number | undefined;
  let last: Awaited<ReturnType<typeof client.jobs.getJob>>['job'] | undefined;
  for await (const e of client.jobs.watchJob(jobId)) {
    last = e.job;
    first ??= finishedCount(e.job);
    if (tty) {
      process.stdout.write(`\r\x1b[K${progressLine(e.job, finishedCount(e.job) - first, performance.now() - started)}`);
    } else {
      process.stdout.write(`${JSON.stringify({ job: jobJson(e.job), ...(e.item ? { item: itemJson(e.item) } : {}) })}\n`);
    }
  }
  if (last === undefined) return EXIT_FAILURE;
  if (tty) process.stdout.write(`\n${formatJob(last)}`);
  return last.state === 'COMPLETED' && last.failed === 0 ? EXIT_OK : EXIT_FAILURE;
}
