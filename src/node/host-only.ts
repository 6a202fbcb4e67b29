// `plexus node start --only CAPABILITY[,CAPABILITY...]`: host only the part of the configured
// models (a config file's or the embedded default's) needed to serve those capabilities here.
// Pure: compiled model specs in, the chosen ones out (in config order), or a ConfigError naming
// what exists. An entry that serves a chosen capability is kept with the raw models it runs on
// (an adapter's targets); a raw model needs nothing else; a pipeline (or any other kind) is kept
// alone: its steps are routed like any query, to whoever serves them.
import { adapterTargets, type ModelSpec } from '../inference/config.ts';
import { ConfigError } from '../errors.ts';

export const ONLY_FLAG = '--only';

/**
 * The capability names of one or more `--only` values (each comma-separated), trimmed and
 * deduplicated in order. ConfigError for an empty list; a name nobody serves (a model name, a
 * typo) is refused by selectModelsFor, with the list of what exists.
 */
export function parseOnly(values: readonly string[]): string[] {
  const names: string[] = [];
  for (const value of values) {
    for (const raw of value.split(',')) {
      const name = raw.trim();
      if (name === '') continue;
      if (!names.includes(name)) names.push(name);
    }
  }
  if (names.length === 0) throw new ConfigError(`${ONLY_FLAG}: expected at least one capability, e.g. ${ONLY_FLAG} ocr.read`);
  return names;
}

/** The raw models an entry runs on locally (none for a raw model or a pipeline). */
function runsOn(spec: ModelSpec): readonly string[] {
  return spec.kind === 'adapter' ? adapterTargets(spec) : [];
}

/** Every capability the specs serve, sorted: what `--only` may name. */
export function servedCapabilities(specs: readonly ModelSpec[]): string[] {
  return [...new Set(specs.flatMap((s) => s.capabilities))].sort();
}

/**
 * The specs needed to serve `capabilities` locally, in their config order. Every entry that
 * advertises a chosen capability is kept, with the raw models it runs on.
 */
export function selectModelsFor(specs: readonly ModelSpec[], capabilities: readonly string[], source = 'the config'): ModelSpec[] {
  const unknown = capabilities.filter((c) => !specs.some((s) => s.capabilities.includes(c)));
  if (unknown.length > 0) {
    const exists = servedCapabilities(specs);
    throw new ConfigError(`${ONLY_FLAG}: ${unknown.map((c) => `'${c}'`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not served by ${source}; `
      + (exists.length === 0 ? 'it serves no capability' : `it serves: ${exists.join(', ')}`));
  }
  const keep = new Set<string>();
  for (const spec of specs) {
    if (!spec.capabilities.some((c) => capabilities.includes(c))) continue;
    keep.add(spec.name);
    for (const target of runsOn(spec)) keep.add(target);
  }
  return specs.filter((s) => keep.has(s.name));
}
