// Structured JSON logs (pino). Every module takes a Logger from its components; a query's
// log lines carry its `queryId` so one query can be followed across hops.
import { pino } from 'pino';

export type Logger = pino.Logger;

export interface LoggerInit {
  readonly level?: pino.LevelWithSilent;
  /** Write to stderr so `--json` output on stdout stays machine-readable. */
  readonly destination?: 'stderr' | 'stdout';
  readonly name?: string;
}

export function createLogger(init: LoggerInit = {}): Logger {
  const fd = init.destination === 'stdout' ? 1 : 2;
  return pino({ level: init.level ?? 'info', name: init.name ?? 'plexus', base: null }, pino.destination({ fd, sync: true }));
}

/** A logger that writes nothing: for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
