// Prometheus metrics of one node, on a registry of its own (never prom-client's global one, so
// several in-process nodes in a test or a bench do not share or clash). Instruments sit at the
// seams: a QueryDispatcher decorator per API (requests + end-to-end latency, status by the gRPC
// status adapter's mapping), the inference engine's hooks (queue wait, compute, batch sizes,
// request phases),
// the routed dispatcher's events (route choices, forwards, failovers), and gauges read from the
// engine and the p2p service at scrape time.
import { Counter, Gauge, Histogram, Registry } from './prom.ts';
import type { LocalInferenceInit } from '../inference/engine.ts';
import type { LocalInference } from '../inference/types.ts';
import type { RoutedDispatcherEvents } from './route-events.ts';
import type { ModelCatalog, QueryDispatcher } from './dispatch.ts';
import { createModelStatsRecorder, type ModelStatsRecorder } from './model-stats.ts';
import { registerCapabilityRoutes, type CapabilityRoute } from './route-metrics.ts';
import { registerEventLoopDelay } from './event-loop-metrics.ts';
import { statusName, toServiceError } from '../wire/status.ts';

/** The `model` label of a request naming nothing this node knows (keeps label values bounded). */
export const UNKNOWN_MODEL_LABEL = '_unknown';

export type ApiLabel = 'grpc' | 'http';

/** Live sources the gauges read at scrape time; both may be absent (before start, no libp2p). */
export interface MetricsSources {
  readonly inference?: () => LocalInference | undefined;
  readonly connectedPeers?: () => number;
  /** The routing table's usable routes (plexus_capability_routes); undefined without libp2p. */
  readonly routes?: () => readonly CapabilityRoute[] | undefined;
}

export interface NodeMetrics {
  readonly registry: Registry;
  /** The node's routing policy, a label on route choices. */
  readonly policy: string;
  /** Counts and times every query `inner` answers (or refuses), labelled by API, model and status. */
  instrument(inner: QueryDispatcher, catalog: ModelCatalog, api: ApiLabel): QueryDispatcher;
  /** Spread into createLocalInference's init. */
  readonly inferenceHooks: Required<Pick<LocalInferenceInit, 'onBatch' | 'onQueueWait' | 'onCompute' | 'onPhases'>>;
  /** Pass to the routed dispatcher. */
  readonly routeEvents: RoutedDispatcherEvents;
  setSources(sources: MetricsSources): void;
  /** Triton-style per-model statistics, fed by the same observations as the instruments. */
  readonly modelStats: ModelStatsRecorder;
  /** The exposition text and its Content-Type. */
  scrape(): Promise<{ readonly contentType: string; readonly body: string }>;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

type Registers = Registry[];

/** The node's counters and histograms, registered on `registers`. */
function createInstruments(registers: Registers) {
  const requests = new Counter({
    name: 'plexus_requests_total', help: 'Queries received by this node (as the entry node), by API, model or capability asked for, and status code.',
    labelNames: ['api', 'model', 'code'] as const, registers,
  });
  const duration = new Histogram({
    name: 'plexus_request_duration_seconds', help: 'End-to-end time of a query at its entry node, from decode to answer or error.',
    labelNames: ['api', 'model', 'code'] as const, buckets: LATENCY_BUCKETS, registers,
  });
  const queueWait = new Histogram({
    name: 'plexus_queue_wait_seconds', help: 'Time a run (a batch counts once) waited for a slot of the model\'s concurrency limiter.',
    labelNames: ['model'] as const, buckets: LATENCY_BUCKETS, registers,
  });
  const compute = new Histogram({
    name: 'plexus_compute_seconds', help: 'Time one ONNX Runtime session run took (a batch counts once).',
    labelNames: ['model'] as const, buckets: LATENCY_BUCKETS, registers,
  });
  const phase = new Histogram({
    name: 'plexus_request_phase_seconds', help: 'Per request answered on this node: preparing its inputs (phase="input": validation, an adapter\'s WAV or image decoding, stacking into a shared batch), an adapter\'s own execution (phase="execute"), building the answer (phase="output").',
    labelNames: ['model', 'phase'] as const, buckets: LATENCY_BUCKETS, registers,
  });
  const batchSize = new Histogram({
    name: 'plexus_batch_size', help: 'Items per batched run (request rows, or speech.vad requests per step), for models with batching.',
    labelNames: ['model'] as const, buckets: BATCH_BUCKETS, registers,
  });
  const forwarded = new Counter({
    name: 'plexus_forwarded_total', help: 'Query attempts this entry node sent to another peer.',
    labelNames: ['model'] as const, registers,
  });
  const failovers = new Counter({
    name: 'plexus_failovers_total', help: 'Query attempts on a further route after the previous one failed.',
    labelNames: ['model'] as const, registers,
  });
  const routeChoices = new Counter({
    name: 'plexus_route_choices_total', help: 'First routes chosen by this entry node, by the node\'s routing policy and whether the provider is this node (local) or another peer (remote).',
    labelNames: ['policy', 'target'] as const, registers,
  });

  const verifications = new Counter({
    name: 'plexus_verifications_total', help: 'Answers this entry node cross-checked by re-execution (plexus.verify or node.verify.rate), by outcome: agreed, wrong, unresolved.',
    labelNames: ['model', 'outcome'] as const, registers,
  });
  const verificationFailures = new Counter({
    name: 'plexus_verification_failures_total', help: 'Wrong answers caught by re-execution: the provider disagreed with two others or with this node\'s own run, and is quarantined here.',
    labelNames: ['model', 'peer'] as const, registers,
  });
  return { requests, duration, queueWait, compute, phase, batchSize, forwarded, failovers, routeChoices, verifications, verificationFailures };
}

type Instruments = ReturnType<typeof createInstruments>;

/** Gauges read at scrape time from the live sources (`sources()`: the latest set). */
function registerGauges(registers: Registers, sources: () => MetricsSources): void {
  const perModel = (name: string, help: string, read: (s: { inFlight: number; queued: number }) => number): void => {
    new Gauge({
      name, help, labelNames: ['model'] as const, registers,
      collect() {
        this.reset(); // models come and go with the engine; no stale series
        const inference = sources().inference?.();
        if (inference === undefined) return;
        for (const m of inference.list()) {
          const s = inference.stats(m.name);
          if (s !== undefined) this.set({ model: m.name }, read(s));
        }
      },
    });
  };
  perModel('plexus_queue_depth', 'Requests waiting for a run of the model (its limiter queue plus its batch queue).', (s) => s.queued);
  perModel('plexus_in_flight', 'Runs of the model in progress (a batch counts once).', (s) => s.inFlight);
  new Gauge({
    name: 'plexus_peers_connected', help: 'libp2p peers this node has a connection to.', registers,
    collect() { this.set(sources().connectedPeers?.() ?? 0); },
  });
}

/** The QueryDispatcher decorator of NodeMetrics.instrument. */
function instrumented(inner: QueryDispatcher, catalog: ModelCatalog, api: ApiLabel, m: Instruments, modelStats: ModelStatsRecorder): QueryDispatcher {
  return {
    async infer(request) {
      const started = performance.now();
      const resolved = catalog.resolve(request.model, request.version);
      const model = resolved === undefined ? UNKNOWN_MODEL_LABEL : request.model;
      let code = 'OK';
      let served: { readonly model: string; readonly version: string } | undefined = resolved === undefined ? undefined : { model: resolved.name, version: resolved.version };
      try {
        const result = await inner.infer(request);
        served = result;
        return result;
      } catch (e) {
        code = statusName(toServiceError(e).code);
        throw e;
      } finally {
        const labels = { api, model, code };
        const ms = performance.now() - started;
        m.requests.inc(labels);
        m.duration.observe(labels, ms / 1000);
        if (served !== undefined) modelStats.request(served.model, served.version, code === 'OK', ms);
      }
    },
  };
}

function inferenceHooks(m: Instruments, modelStats: ModelStatsRecorder): NodeMetrics['inferenceHooks'] {
  return {
    onBatch: (model, size) => m.batchSize.observe({ model }, size),
    onQueueWait: (model, ms) => {
      m.queueWait.observe({ model }, ms / 1000);
      modelStats.queueWait(model, ms);
    },
    onCompute: (model, ms) => {
      m.compute.observe({ model }, ms / 1000);
      modelStats.compute(model, ms);
    },
    // Triton's compute_input/compute_output; an adapter's own executions (its ORT runs count
    // on its raw model, in plexus_compute_seconds): the same observations as plexus_request_phase_seconds.
    onPhases: (model, p) => {
      m.phase.observe({ model, phase: 'input' }, p.inputMs / 1000);
      m.phase.observe({ model, phase: 'output' }, p.outputMs / 1000);
      modelStats.phases(model, p.inputMs, p.outputMs);
      if (p.executeMs !== undefined) {
        m.phase.observe({ model, phase: 'execute' }, p.executeMs / 1000);
        modelStats.compute(model, p.executeMs);
      }
    },
  };
}

function routeEvents(m: Instruments, policy: string): RoutedDispatcherEvents {
  return {
    attempt({ model, attempt, local }) {
      if (attempt === 1) m.routeChoices.inc({ policy, target: local ? 'local' : 'remote' });
      else m.failovers.inc({ model });
      if (!local) m.forwarded.inc({ model });
    },
    verification({ model, outcome, peer }) {
      m.verifications.inc({ model, outcome });
      if (outcome === 'wrong') m.verificationFailures.inc({ model, peer: peer ?? '' });
    },
  };
}

export function createNodeMetrics(opts: { readonly policy?: string } = {}): NodeMetrics {
  const registry = new Registry();
  const registers = [registry];
  let sources: MetricsSources = {};
  const modelStats = createModelStatsRecorder();
  const instruments = createInstruments(registers);
  registerGauges(registers, () => sources);
  registerCapabilityRoutes(registry, () => sources.routes?.());
  registerEventLoopDelay(registers);

  const policy = opts.policy ?? 'local';
  return {
    registry,
    policy,
    instrument: (inner, catalog, api) => instrumented(inner, catalog, api, instruments, modelStats),
    inferenceHooks: inferenceHooks(instruments, modelStats),
    routeEvents: routeEvents(instruments, policy),
    setSources(s) { sources = s; },
    modelStats,
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
