// The `node.jobs` section of the config file: where the job store's bounds come from. Every
// default is defined here, once; compileNodeOptions (src/node/options.ts) calls compileJobsOptions.
import * as z from 'zod';

export interface JobsOptions {
  /** Off: no Jobs service, no store file. */
  readonly enabled: boolean;
  /** How long a finished job and its results are kept (then deleted), ms. */
  readonly retentionMs: number;
  /** Bound on the bytes the store holds (inputs + results); a submission past it gets RESOURCE_EXHAUSTED. */
  readonly maxStoreBytes: number;
  readonly maxItemsPerJob: number;
  /** Deadline of a job that sets none, ms. */
  readonly defaultDeadlineMs: number;
}

export const JOBS_DEFAULTS: JobsOptions = {
  enabled: true,
  retentionMs: 7 * 24 * 3600 * 1000,
  maxStoreBytes: 1024 * 1024 * 1024,
  maxItemsPerJob: 100_000,
  defaultDeadlineMs: 24 * 3600 * 1000,
};

export const jobsSectionSchema = z.strictObject({
  enabled: z.boolean().optional(),
  retentionS: z.number().positive().max(365 * 24 * 3600).optional(),
  maxStoreBytes: z.int().min(1024 * 1024).max(2 ** 50).optional(),
  maxItemsPerJob: z.int().min(1).max(10_000_000).optional(),
  defaultDeadlineS: z.number().positive().max(7 * 24 * 3600).optional(),
});

export function compileJobsOptions(section: z.output<typeof jobsSectionSchema> | undefined): JobsOptions {
  const s = section ?? {};
  return {
    enabled: s.enabled ?? JOBS_DEFAULTS.enabled,
    retentionMs: s.retentionS === undefined ? JOBS_DEFAULTS.retentionMs : Math.round(s.retentionS * 1000),
    maxStoreBytes: s.maxStoreBytes ?? JOBS_DEFAULTS.maxStoreBytes,
    maxItemsPerJob: s.maxItemsPerJob ?? JOBS_DEFAULTS.maxItemsPerJob,
    defaultDeadlineMs: s.defaultDeadlineS === undefined ? JOBS_DEFAULTS.defaultDeadlineMs : Math.round(s.defaultDeadlineS * 1000),
  };
}
