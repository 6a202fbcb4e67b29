// Errors the CLI reports and the exit code each gets: 2 for usage/config, 1 for the rest.
import { isPlexusError, ConfigError } from '../errors.ts';
import { statusName } from '../wire/status.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A line for stderr and the exit code for any thrown value. */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof UsageError) return { message: error.message, exitCode: EXIT_USAGE };
  if (error instanceof ConfigError) return { message: `invalid configuration: ${error.message}`, exitCode: EXIT_USAGE };
  if (isGrpcError(error)) return { message: `${statusName(error.code)}: ${error.details}`, exitCode: EXIT_FAILURE };
  if (isPlexusError(error)) return { message: `${error.kind}: ${error.message}`, exitCode: EXIT_FAILURE };
  return { message: error instanceof Error ? error.message : String(error), exitCode: EXIT_FAILURE };
}

function isGrpcError(e: unknown): e is { code: number; details: string } {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number'
    && typeof (e as { details?: unknown }).details === 'string';
}
