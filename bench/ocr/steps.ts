// `plexus.steps`, the response parameter a pipeline answers with: a JSON array, one object per
// step call ({capability, served_by, route, ms, cost}). Parsing and per-capability grouping,
// pure; a response without it (a node before pipelines, or a one-model answer) gives [].

export interface StepCall {
  readonly capability: string;
  readonly servedBy: string;
  readonly route: string;
  readonly ms: number;
  readonly cost: number;
}

/** The step calls in a `plexus.steps` value; throws on a value that is not the documented shape. */
export function parseSteps(value: string | undefined): StepCall[] {
  if (value === undefined || value === '') return [];
  const parsed: unknown = JSON.parse(value);
  if (!Array.isArray(parsed)) throw new Error(`plexus.steps: expected a JSON array, got ${value.slice(0, 80)}`);
  return parsed.map((s: unknown, i) => {
    if (typeof s !== 'object' || s === null) throw new Error(`plexus.steps[${i}]: expected an object`);
    const o = s as Record<string, unknown>;
    if (typeof o['capability'] !== 'string' || typeof o['ms'] !== 'number') throw new Error(`plexus.steps[${i}]: needs capability (string) and ms (number)`);
    return {
      capability: o['capability'],
      servedBy: typeof o['served_by'] === 'string' ? o['served_by'] : '',
      route: typeof o['route'] === 'string' ? o['route'] : '',
      ms: o['ms'],
      cost: typeof o['cost'] === 'number' ? o['cost'] : 0,
    };
  });
}

export interface StepTally {
  /** ms of every call of this capability, over all queries. */
  readonly ms: number[];
  /** Calls per query (a step that fans out makes several). */
  readonly callsPerQuery: number[];
  /** Who served the calls, with counts. */
  readonly servedBy: Map<string, number>;
}

/** Adds one query's step calls to a per-capability tally. */
export function tallySteps(into: Map<string, StepTally>, calls: readonly StepCall[]): void {
  const perQuery = new Map<string, number>();
  for (const c of calls) {
    let t = into.get(c.capability);
    if (t === undefined) {
      t = { ms: [], callsPerQuery: [], servedBy: new Map() };
      into.set(c.capability, t);
    }
    t.ms.push(c.ms);
    t.servedBy.set(c.servedBy, (t.servedBy.get(c.servedBy) ?? 0) + 1);
    perQuery.set(c.capability, (perQuery.get(c.capability) ?? 0) + 1);
  }
  for (const [cap, n] of perQuery) into.get(cap)?.callsPerQuery.push(n);
}
