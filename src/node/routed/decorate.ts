// The entry node's answer parameters: plexus.served_by, plexus.route (entry first), plexus.cost
// (the provider's price plus what a pipeline reports its steps cost) and plexus.hop_ms.
import { reportedCost } from '../../inference/pipeline/budget.ts';
import type { InferResult } from '../../inference/types.ts';
import type { RouteCandidate } from '../../routing/types.ts';
import { PARAM } from '../../wire/params.ts';
import type { ForwardResult, HopTiming } from '../p2p/forward-frame.ts';

const fmtMs = (ms: number): string => (Math.round(ms * 10) / 10).toString();

/** `res` answered by `cand` as seen at the entry node `self`, which spent `entryMs` on the try. */
export function decorate(res: ForwardResult, cand: RouteCandidate, self: string, entryMs: number): InferResult {
  const hops: HopTiming[] = cand.origin === self ? [...res.hops] : [{ peer: self, ms: entryMs }, ...res.hops];
  return {
    model: res.model, version: res.version, id: res.id, outputs: res.outputs,
    parameters: {
      ...res.parameters,
      [PARAM.servedBy]: hops[hops.length - 1]?.peer ?? self,
      [PARAM.route]: hops.map((h) => h.peer).join(','),
      // A pipeline's provider reports what its steps cost (src/inference/pipeline/); else 0.
      [PARAM.cost]: cand.price + reportedCost(res.parameters),
      [PARAM.hopMs]: hops.map((h) => fmtMs(h.ms)).join(','),
    },
  };
}
