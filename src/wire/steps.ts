// `plexus.steps`, the response parameter a pipeline answers with: a JSON array, one record per
// step call. The node writes it (src/inference/pipeline/), the CLI and dashboard read it.

/** The platform a pipeline entry reports (model metadata, advertised as io.platform). */
export const PIPELINE_PLATFORM = 'plexus_pipeline';

/** One step call, as `plexus.steps` lists it. */
export interface StepRecord {
  readonly capability: string;
  readonly served_by: string;
  /** Peer ids, comma-separated, as in plexus.route. */
  readonly route: string;
  readonly ms: number;
  readonly cost: number;
}

export function isStepRecord(x: unknown): x is StepRecord {
  if (x === null || typeof x !== 'object') return false;
  const s = x as Record<string, unknown>;
  return typeof s.capability === 'string' && typeof s.served_by === 'string' && typeof s.route === 'string' && typeof s.ms === 'number' && typeof s.cost === 'number';
}

/** The records of a `plexus.steps` value; [] when it is absent, not JSON or not an array (records of another shape are skipped). */
export function readSteps(raw: unknown): StepRecord[] {
  if (typeof raw !== 'string') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  return Array.isArray(parsed) ? parsed.filter(isStepRecord) : [];
}
