// Watches the node's config file and applies its `models:` when it changes: recompiled with the
// real config compiler; an invalid file is logged (naming the field) and the running models are
// kept; a valid one loads added models, unloads removed ones and reloads changed ones. Watches
// the directory, not the file, so editors that write a new file and rename it over the old one
// are seen too; events are debounced (editors write in several steps).
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { ModelSpec } from '../inference/config.ts';
import type { Logger } from '../logger.ts';
import type { ModelRepository } from './model-repository.ts';
import { compileNodeOptions } from './options.ts';

export interface ConfigWatchInit {
  /** The config file (absolute, or relative to the working directory). */
  readonly file: string;
  readonly repository: ModelRepository;
  readonly logger: Logger;
  /** Quiet time after the last event before the file is read (default 200 ms). */
  readonly debounceMs?: number;
  /** The file's models; default: the node options compiler (so `models:` absent = the embedded default). */
  readonly compile?: (file: string) => readonly ModelSpec[];
  /** `--only`: the default compiler keeps just what serves these capabilities (src/node/host-only.ts). */
  readonly only?: readonly string[] | undefined;
}

export interface ConfigWatch {
  start(): void;
  /** Stop watching; waits for a change being applied. */
  stop(): Promise<void>;
}

const compileFileModels = (file: string, only: readonly string[] | undefined): readonly ModelSpec[] =>
  compileNodeOptions({ config: file, ...(only === undefined ? {} : { only }) }, { cwd: path.dirname(file) }).models;

export function createConfigWatch(init: ConfigWatchInit): ConfigWatch {
  const { logger, repository } = init;
  const file = path.resolve(init.file);
  const dir = path.dirname(file);
  const base = path.basename(file);
  const debounceMs = init.debounceMs ?? 200;
  const compile = init.compile ?? ((f: string) => compileFileModels(f, init.only));
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let applying: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let lastText: string | undefined;

  const read = (): string | undefined => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      // Mid-replace (removed, not yet renamed in): the rename brings another event.
      logger.debug({ file, err: e }, 'config file not readable now');
      return undefined;
    }
  };

  async function check(): Promise<void> {
    const text = read();
    if (text === undefined || text === lastText) return;
    lastText = text;
    let specs: readonly ModelSpec[];
    try {
      specs = compile(file);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      logger.error({ file, err: message }, `config file changed but is invalid; keeping the running models: ${message}`);
      return;
    }
    const summary = await repository.applyConfigModels(specs);
    logger.info({ file, ...summary }, 'config file changed: models applied');
  }

  function run(): void {
    if (stopped) return;
    if (applying !== undefined) {
      again = true;
      return;
    }
    applying = check()
      .catch((e: unknown) => { logger.error({ file, err: e }, 'applying the config file failed'); })
      .finally(() => {
        applying = undefined;
        if (again) { again = false; run(); }
      });
  }

  function schedule(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => { timer = undefined; run(); }, debounceMs);
  }

  return {
    start() {
      if (watcher !== undefined) return;
      lastText = read();
      watcher = watch(dir, { persistent: false }, (_event, name) => {
        // Some platforms give no name: check anyway (the text comparison filters no-ops).
        if (name === null || name === base) schedule();
      });
      watcher.on('error', (e) => logger.error({ file, err: e }, 'config file watch failed; edits are no longer applied'));
      logger.info({ file }, 'watching the config file for model changes');
    },
    async stop() {
      stopped = true;
      watcher?.close();
      watcher = undefined;
      if (timer !== undefined) clearTimeout(timer);
      await applying;
    },
  };
}
