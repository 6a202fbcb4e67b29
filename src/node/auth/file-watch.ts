// Calls back with a file's text whenever it changes (the tokens file, the config file's peer
// lists). Watches the directory, not the file, so editors and Kubernetes secret updates that
// rename a new file over the old one are seen; events are debounced and unchanged text ignored.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../logger.ts';

export interface FileWatch {
  stop(): void;
}

export function watchFileText(file: string, onChange: (text: string) => void, logger: Logger, debounceMs = 200): FileWatch {
  const abs = path.resolve(file);
  const base = path.basename(abs);
  let last: string | undefined;
  const read = (): string | undefined => {
    try {
      return readFileSync(abs, 'utf8');
    } catch {
      return undefined;
    }
  };
  last = read();
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined = watch(path.dirname(abs), { persistent: false }, (_event, name) => {
    // Kubernetes secrets swap a `..data` symlink: any event in the directory may be ours.
    if (name !== null && name !== base && !name.startsWith('..')) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      const text = read();
      if (text === undefined || text === last) return;
      last = text;
      onChange(text);
    }, debounceMs);
  });
  watcher.on('error', (e) => logger.error({ file: abs, err: e }, 'file watch failed; edits are no longer applied'));
  return {
    stop() {
      watcher?.close();
      watcher = undefined;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
