// node:sqlite, loaded when a store is opened (not when the daemon's modules load: `plexus node
// start` with a bad config fails before it), without Node 22's one-line "SQLite is an
// experimental feature" warning on every start. Only that warning is dropped, only during this
// synchronous load; anything else goes to the real process.emitWarning.
import type * as Sqlite from 'node:sqlite';

let loaded: typeof Sqlite | undefined;

export function sqlite(): typeof Sqlite {
  if (loaded !== undefined) return loaded;
  const emitWarning = process.emitWarning.bind(process) as (w: string | Error, ...r: unknown[]) => void;
  // Put back as it was (not bound), so later patches and identity checks see the same function.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const original = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]): void => {
    if ((warning instanceof Error ? warning.message : warning).startsWith('SQLite is an experimental feature')) return;
    emitWarning(warning, ...rest);
  });
  try {
    loaded = process.getBuiltinModule('node:sqlite');
  } finally {
    process.emitWarning = original;
  }
  return loaded;
}
