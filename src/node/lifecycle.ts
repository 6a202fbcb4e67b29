// One lifecycle for the parts of a node. Each part is a Component: a name, the parts it depends
// on, start() and stop(), and optionally drain() (stop taking new work; called on every started
// part, dependents first, before any stops). The runner starts them in dependency order (a
// part's dependencies first, otherwise in the order given) and stops them in reverse: a part
// stops once every started part that depends on it has stopped, so parts that do not depend on
// each other stop together. A start that throws undoes the partial start: every part already
// started is stopped (in reverse), then the error is rethrown. stop() is idempotent.

export interface Component {
  readonly name: string;
  /** Parts started before this one and stopped after it. */
  readonly dependsOn?: readonly string[];
  start(): void | Promise<void>;
  /** Stop taking new work (health, routes withdrawn, listeners closed to new calls); optional. */
  drain?(): void | Promise<void>;
  stop(): void | Promise<void>;
}

export interface Lifecycle {
  /** Start every component in order; on a failure, stop the started ones and rethrow. */
  start(): Promise<void>;
  /** Drain, then stop the started components in reverse order. Idempotent; never throws. */
  stop(): Promise<void>;
  /** Names of the components started and not stopped, in start order. */
  running(): readonly string[];
}

export interface LifecycleOptions {
  /** Told of a drain or stop that threw (the others still run). */
  readonly onError?: (component: string, phase: 'drain' | 'stop', err: unknown) => void;
}

/** The start order: dependencies first, else as given. Throws on an unknown dependency or a cycle. */
export function startOrder(components: readonly Component[]): Component[] {
  const byName = new Map<string, Component>();
  for (const c of components) {
    if (byName.has(c.name)) throw new Error(`component '${c.name}' is declared twice`);
    byName.set(c.name, c);
  }
  const order: Component[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (c: Component, path: readonly string[]): void => {
    const s = state.get(c.name);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`components depend on each other: ${[...path, c.name].join(' -> ')}`);
    state.set(c.name, 'visiting');
    for (const d of c.dependsOn ?? []) {
      const dep = byName.get(d);
      if (dep === undefined) throw new Error(`component '${c.name}' depends on '${d}', which is not declared`);
      visit(dep, [...path, c.name]);
    }
    state.set(c.name, 'done');
    order.push(c);
  };
  for (const c of components) visit(c, []);
  return order;
}

export function createLifecycle(components: readonly Component[], options: LifecycleOptions = {}): Lifecycle {
  const order = startOrder(components);
  const started: Component[] = [];
  let phase: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new';
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  const report = (c: Component, p: 'drain' | 'stop', e: unknown): void => { options.onError?.(c.name, p, e); };

  /** Stop the started components, each once all started dependents have stopped. */
  async function stopStarted(drain: boolean): Promise<void> {
    const parts = [...started];
    if (drain) {
      for (const c of [...parts].reverse()) {
        try {
          await c.drain?.();
        } catch (e) {
          report(c, 'drain', e);
        }
      }
    }
    const done = new Map<string, Promise<void>>();
    const stopOne = (c: Component): Promise<void> => {
      const known = done.get(c.name);
      if (known !== undefined) return known;
      const dependents = parts.filter((d) => d.dependsOn?.includes(c.name) === true);
      const p = Promise.all(dependents.map(stopOne)).then(async () => {
        try {
          await c.stop();
        } catch (e) {
          report(c, 'stop', e);
        }
        started.splice(started.indexOf(c), 1);
      });
      done.set(c.name, p);
      return p;
    };
    await Promise.all(parts.map(stopOne));
  }

  async function startAll(): Promise<void> {
    for (const c of order) {
      try {
        await c.start();
      } catch (e) {
        phase = 'stopping';
        await stopStarted(false);
        phase = 'stopped';
        throw e;
      }
      started.push(c);
    }
    phase = 'started';
  }

  return {
    start() {
      if (phase !== 'new') return Promise.reject(new Error(`cannot start: the components are ${phase}`));
      phase = 'starting';
      starting = startAll();
      return starting;
    },
    stop() {
      stopping ??= (async () => {
        // A stop during the start waits for it (a failed start has undone itself).
        await starting?.catch(() => undefined);
        if (phase !== 'started') {
          phase = 'stopped';
          return;
        }
        phase = 'stopping';
        await stopStarted(true);
        phase = 'stopped';
      })();
      return stopping;
    },
    running: () => started.map((c) => c.name),
  };
}
