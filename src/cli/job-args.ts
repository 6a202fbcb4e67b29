// The flags of `plexus job` and their checks, shared by job.ts and job-submit.ts.
import { parseArgs } from 'node:util';
import { UsageError } from './cli-error.ts';
import { AUTH_OPTIONS } from './connect-auth.ts';

const OPTIONS = {
  target: { type: 'string' }, model: { type: 'string' }, input: { type: 'string' }, 'max-cost': { type: 'string' },
  'deadline-s': { type: 'string' }, concurrency: { type: 'string' }, 'max-retries': { type: 'string' }, 'idempotency-key': { type: 'string' },
  label: { type: 'string' }, state: { type: 'string' }, items: { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
  'timeout-ms': { type: 'string', default: '30000' }, help: { type: 'boolean', short: 'h', default: false },
  ...AUTH_OPTIONS,
} as const;

export type JobArgs = ReturnType<typeof parseJobArgs>;

export function parseJobArgs(args: readonly string[]) {
  return parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: true });
}

export function number(flag: string, text: string | undefined, min: number, max: number, integer = false): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${flag}: expected ${integer ? 'an integer' : 'a number'} ${min}..${max}, got '${text}'`);
  }
  return n;
}
