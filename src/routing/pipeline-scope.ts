// Which of a caller's constraints choose the node that runs a pipeline (pure). A pipeline
// (advertised with io.platform 'plexus_pipeline') runs no model of its own: its steps are routed
// from its node, each on its own, and the caller's parameters travel with every step call
// (src/inference/pipeline/budget.ts stepParameters). So plexus.provider, plexus.peer and
// plexus.max_hops bind each step, not the hop to the pipeline's node: a CUDA-only query may
// enter a pipeline advertised as cpu, and its steps then run on CUDA providers. plexus.max_cost
// and the deadline bind both (the pipeline's own price counts against the whole budget).
import { PIPELINE_PLATFORM } from '../wire/steps.ts';
import type { AdvertisedModel, QueryConstraints } from './types.ts';

export { PIPELINE_PLATFORM };

export function isPipeline(m: Pick<AdvertisedModel, 'io'>): boolean {
  return m.io?.platform === PIPELINE_PLATFORM;
}

/** The constraints that select `m` as the provider of a query: all of `c`, less the per-step ones for a pipeline. */
export function hopConstraints(m: Pick<AdvertisedModel, 'io'>, c: QueryConstraints): QueryConstraints {
  if (!isPipeline(m) || (c.peer === undefined && c.provider === undefined && c.maxHops === undefined)) return c;
  const { peer: _peer, provider: _provider, maxHops: _maxHops, ...rest } = c;
  return rest;
}
