// Every scenario, in run order: limits first so later scenarios can form ratios against them.
import type { Scenario } from '../types.ts';
import { limitsScenario } from './limits.ts';
import { plexusScenario } from './plexus.ts';
import { batchingScenario } from './batching.ts';
import { routingQualityScenario } from './routing-quality.ts';
import { scaleScenario } from './scale.ts';
import { convergenceScenario, footprintScenario } from './convergence.ts';
import { eventLoopScenario } from './event-loop.ts';
import { jobsScenario } from './jobs.ts';
import { tracingScenario } from './tracing.ts';
import { trustScenario } from './trust.ts';
import { soakScenario } from './soak.ts';
import { defaultModelsScenario } from './default-models.ts';
import { idleScenario } from './idle.ts';
import { idleRssScenario } from './idle-rss.ts';
import { ocrScenario } from './ocr.ts';
import { scaleBoundScenario } from './scale-bound.ts';
import { throughputScenario } from './throughput.ts';
import { encodeScenario } from './encode.ts';
import { noiseDecodeScenario } from './noise-decode.ts';
import { forwardCodecScenario } from './forward-codec.ts';

export const SCENARIOS: readonly Scenario[] = [
  limitsScenario, plexusScenario, throughputScenario, encodeScenario, noiseDecodeScenario, forwardCodecScenario, batchingScenario, eventLoopScenario, routingQualityScenario, convergenceScenario, scaleScenario, scaleBoundScenario, footprintScenario,
  tracingScenario, trustScenario, jobsScenario, idleScenario, defaultModelsScenario,
  ocrScenario,
  soakScenario, // opt-in: only with --only soak
  idleRssScenario, // opt-in: only with --only idle-rss (10 minutes)
];
