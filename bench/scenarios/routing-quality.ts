// Scenario: routing quality. One client's RoutingTable (the real src/routing code) routes an
// open-loop Poisson query stream over a heterogeneous set of replicas, once per policy
// (random, round-robin, least-outstanding, plexus), on the same seeded arrivals.
//
// Service model (a discrete-event simulation; no sockets, no timers, deterministic):
//  - each replica is a FIFO queue in front of `concurrency` identical servers; a call that
//    finds every server busy and `maxQueue` calls waiting is refused at once (QueueFull);
//  - service times are log-normal around the replica's mean (CV 0.35);
//  - links add a fixed one-way delay each way (request there, response back);
//  - the flaky replica fails `errorRate` of its calls after 1 ms of service (fails fast);
//  - the overloaded replica also serves background traffic from other clients (Poisson),
//    which this client does not see except through that replica's adverts;
//  - replicas advertise what the daemon advertises (src/node/p2p/service.ts): computeMs =
//    EWMA of successful service times, load = running + queued, capacity = concurrency +
//    maxQueue; a new advert goes out when load crosses a quarter of capacity (checked every
//    100 ms) and at least every 1000 ms, and reaches the client one link delay later;
//  - the client calls requestStarted/recordOutcome around every call, so outstanding counts,
//    observed latency and error rates feed back as in the dispatcher;
//  - one attempt per query (no failover, no markDown), so the numbers measure the policy's
//    choice alone; the daemon's failover would turn some errors into extra latency.
// Latency percentiles are over successful queries; cost is the mean price paid per query
// (every attempt is paid, failed ones included).
import { performance } from 'node:perf_hooks';
import { RoutingTable } from '../../src/routing/table.ts';
import { seededRng, type Rng } from '../../src/routing/rng.ts';
import type { RoutingPolicy } from '../../src/routing/policies.ts';
import type { AdvertisedModel, PreferPolicy, RouteCandidate } from '../../src/routing/types.ts';
import type { ExecutionProvider } from '../../src/inference/types.ts';
import { round, summarize } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioResult } from '../types.ts';

interface ReplicaSpec {
  readonly id: string;
  readonly serviceMs: number;
  readonly concurrency: number;
  readonly maxQueue: number;
  readonly price: number;
  readonly linkMs: number;
  readonly errorRate: number;
  readonly provider: ExecutionProvider;
  /** Other clients' traffic, queries/s. */
  readonly backgroundQps: number;
}

export const REPLICAS: readonly ReplicaSpec[] = [
  { id: 'fast-expensive', serviceMs: 6, concurrency: 4, maxQueue: 32, price: 4, linkMs: 1, errorRate: 0, provider: 'cuda', backgroundQps: 0 },
  { id: 'slow-cheap-a', serviceMs: 25, concurrency: 2, maxQueue: 32, price: 1, linkMs: 3, errorRate: 0, provider: 'cpu', backgroundQps: 0 },
  { id: 'slow-cheap-b', serviceMs: 25, concurrency: 2, maxQueue: 32, price: 1, linkMs: 3, errorRate: 0, provider: 'cpu', backgroundQps: 0 },
  { id: 'overloaded', serviceMs: 15, concurrency: 1, maxQueue: 32, price: 1, linkMs: 2, errorRate: 0, provider: 'cpu', backgroundQps: 60 },
  { id: 'flaky', serviceMs: 10, concurrency: 2, maxQueue: 32, price: 1, linkMs: 2, errorRate: 0.3, provider: 'cpu', backgroundQps: 0 },
];

const CV = 0.35;
const SIGMA = Math.sqrt(Math.log(1 + CV * CV));
const ADVERT_CHECK_MS = 100;
const ADVERT_REFRESH_MS = 1000;
const T0 = 1_000_000;

function logNormal(rng: Rng, mean: number): number {
  const u = Math.max(1e-12, rng());
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  return Math.exp(Math.log(mean) - SIGMA * SIGMA / 2 + SIGMA * z);
}

function exponential(rng: Rng, ratePerMs: number): number {
  return -Math.log(Math.max(1e-12, rng())) / ratePerMs;
}

/** Min-heap of timed events; ties run in scheduling order. */
class EventQueue {
  #heap: { t: number; n: number; run: () => void }[] = [];
  #n = 0;
  now = T0;

  at(t: number, run: () => void): void {
    const h = this.#heap;
    h.push({ t, n: this.#n++, run });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const a = h[i], b = h[p];
      if (a === undefined || b === undefined || b.t < a.t || (b.t === a.t && b.n < a.n)) break;
      h[i] = b; h[p] = a; i = p;
    }
  }

  /** Run events in time order until `end`. */
  runUntil(end: number): void {
    const h = this.#heap;
    for (;;) {
      const top = h[0];
      if (top === undefined || top.t > end) break;
      const last = h.pop();
      if (h.length > 0 && last !== undefined) {
        h[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          const hm = (): { t: number; n: number } => h[m] as { t: number; n: number };
          const less = (k: number): boolean => { const x = h[k]; return x !== undefined && (x.t < hm().t || (x.t === hm().t && x.n < hm().n)); };
          if (less(l)) m = l;
          if (less(r)) m = r;
          if (m === i) break;
          const tmp = h[i] as typeof top; h[i] = h[m] as typeof top; h[m] = tmp; i = m;
        }
      }
      this.now = top.t;
      top.run();
    }
    this.now = end;
  }
}

interface Job { readonly done: (ok: boolean) => void }

class Replica {
  busy = 0;
  readonly queue: Job[] = [];
  computeMs: number;
  seq = 1;
  lastShape = -1;
  lastAdvert = -Infinity;
  readonly spec: ReplicaSpec;
  readonly #ev: EventQueue;
  readonly #rng: Rng;

  constructor(spec: ReplicaSpec, ev: EventQueue, rng: Rng) {
    this.spec = spec;
    this.computeMs = spec.serviceMs;
    this.#ev = ev;
    this.#rng = rng;
  }

  get load(): number {
    return this.busy + this.queue.length;
  }

  /** A call arrives; `done` runs when it finishes here (ok or failed). */
  arrive(job: Job): void {
    if (this.busy < this.spec.concurrency) this.#start(job);
    else if (this.queue.length < this.spec.maxQueue) this.queue.push(job);
    else job.done(false); // QueueFull: refused at once
  }

  #start(job: Job): void {
    this.busy++;
    const fails = this.#rng() < this.spec.errorRate;
    const ms = fails ? 1 : logNormal(this.#rng, this.spec.serviceMs);
    this.#ev.at(this.#ev.now + ms, () => {
      this.busy--;
      if (!fails) this.computeMs += 0.1 * (ms - this.computeMs);
      job.done(!fails);
      const next = this.queue.shift();
      if (next !== undefined) this.#start(next);
    });
  }

  advertModel(): AdvertisedModel {
    const s = this.spec;
    return {
      name: 'm', version: '1', capabilities: [], provider: s.provider, price: s.price,
      computeMs: this.computeMs, load: this.load, capacity: s.concurrency + s.maxQueue,
    };
  }
}

export interface PolicyRun {
  readonly label: string;
  readonly policy: RoutingPolicy;
  readonly prefer: PreferPolicy;
  readonly queries: number;
  readonly errors: number;
  readonly latencies: number[];
  readonly cost: number;
  readonly share: Record<string, number>;
}

/** One policy over `durationMs` of simulated time at `qps`; the first `warmupMs` is not recorded. */
export function simulatePolicy(policy: RoutingPolicy, prefer: PreferPolicy, qps: number, durationMs: number, warmupMs: number, seed: number): PolicyRun {
  const ev = new EventQueue();
  // Separate streams so every policy sees the same arrivals and the same background traffic.
  const arrivals = seededRng(seed);
  const serviceRng = seededRng(seed ^ 0x5bd1e995);
  const background = seededRng(seed ^ 0x27d4eb2f);
  const table = new RoutingTable('client', { policy, rng: seededRng(seed ^ 0x85ebca6b), holdMs: 3 * ADVERT_REFRESH_MS });
  const replicas = REPLICAS.map((s) => new Replica(s, ev, serviceRng));
  const byId = new Map(replicas.map((r) => [r.spec.id, r]));
  const measureFrom = T0 + warmupMs;
  const end = T0 + warmupMs + durationMs;
  const latencies: number[] = [];
  const share: Record<string, number> = Object.fromEntries(REPLICAS.map((s) => [s.id, 0]));
  let queries = 0, errors = 0, cost = 0;

  const advertise = (r: Replica): void => {
    const shape = Math.round((4 * r.load) / (r.spec.concurrency + r.spec.maxQueue));
    if (shape === r.lastShape && ev.now - r.lastAdvert < ADVERT_REFRESH_MS) return;
    r.lastShape = shape;
    r.lastAdvert = ev.now;
    const advert = { origin: r.spec.id, seq: r.seq++, models: [r.advertModel()], issuedAt: ev.now };
    ev.at(ev.now + r.spec.linkMs, () => table.applyUpdate(r.spec.id, { advert, metricMs: 0, hops: 0, retracted: false }, ev.now));
  };
  for (const r of replicas) {
    table.neighbourUp(r.spec.id, 2 * r.spec.linkMs, T0);
    table.applyUpdate(r.spec.id, { advert: { origin: r.spec.id, seq: r.seq++, models: [r.advertModel()], issuedAt: T0 }, metricMs: 0, hops: 0, retracted: false }, T0);
    const tick = (): void => { advertise(r); ev.at(ev.now + ADVERT_CHECK_MS, tick); };
    ev.at(T0 + ADVERT_CHECK_MS, tick);
    if (r.spec.backgroundQps > 0) {
      const bg = (): void => { r.arrive({ done: () => undefined }); ev.at(ev.now + exponential(background, r.spec.backgroundQps / 1000), bg); };
      ev.at(T0 + exponential(background, r.spec.backgroundQps / 1000), bg);
    }
  }

  const query = (): void => {
    const sent = ev.now;
    if (sent >= end) return;
    const measured = sent >= measureFrom;
    const sel = table.select('m', { prefer }, sent, policy);
    const cand: RouteCandidate | undefined = sel.ok ? sel.candidates[0] : undefined;
    const r = cand === undefined ? undefined : byId.get(cand.origin);
    if (cand === undefined || r === undefined) {
      if (measured) { queries++; errors++; }
    } else {
      table.requestStarted(cand);
      if (measured) { queries++; cost += cand.price; share[cand.origin] = (share[cand.origin] ?? 0) + 1; }
      const link = r.spec.linkMs;
      ev.at(sent + link, () => r.arrive({
        done: (ok) => ev.at(ev.now + link, () => {
          table.recordOutcome(cand, { ok, latencyMs: ev.now - sent }, ev.now);
          if (!measured) return;
          if (ok) latencies.push(ev.now - sent); else errors++;
        }),
      }));
    }
    ev.at(sent + exponential(arrivals, qps / 1000), query);
  };
  ev.at(T0 + exponential(arrivals, qps / 1000), query);
  // No new queries after `end`; calls in flight then still finish and count.
  ev.runUntil(end + 10_000);
  return { label: '', policy, prefer, queries, errors, latencies, cost, share };
}

const POLICIES: readonly { readonly label: string; readonly key: string; readonly policy: RoutingPolicy; readonly prefer: PreferPolicy }[] = [
  { label: 'random', key: 'random', policy: 'random', prefer: 'balanced' },
  { label: 'round-robin', key: 'round-robin', policy: 'round-robin', prefer: 'balanced' },
  { label: 'least-outstanding', key: 'least-outstanding', policy: 'least-outstanding', prefer: 'balanced' },
  { label: 'plexus (prefer=balanced, the default)', key: 'plexus', policy: 'plexus', prefer: 'balanced' },
  { label: 'plexus (prefer=latency)', key: 'plexusLatency', policy: 'plexus', prefer: 'latency' },
  { label: 'plexus (prefer=cost)', key: 'plexusCost', policy: 'plexus', prefer: 'cost' },
];

const SHARE_COLUMNS = REPLICAS.map((r) => `${r.id}%`);
const COLUMNS = ['qps', 'queries', 'errPct', 'p50Ms', 'p99Ms', 'meanMs', 'costPerQuery', ...SHARE_COLUMNS];

export const routingQualityScenario: Scenario = {
  name: 'routing',
  title: 'Routing quality: policies on a heterogeneous cluster (discrete-event model, real routing table)',
  run(ctx): Promise<ScenarioResult> {
    const started = performance.now();
    const durationMs = ctx.quick ? 20_000 : 120_000;
    const warmupMs = ctx.quick ? 3_000 : 10_000;
    // Useful capacity ≈ 667 (fast) + 2×80 (cheap) + ~7 (overloaded after its background) qps,
    // plus the flaky one's 200 qps of which 30% fail.
    const loads = ctx.quick ? [300] : [150, 300, 500];
    const rows: ResultRow[] = [];
    const metrics: Record<string, number | null> = {};
    for (const qps of loads) {
      for (const p of POLICIES) {
        ctx.log(`routing: ${p.label} at ${qps} qps`);
        const r = simulatePolicy(p.policy, p.prefer, qps, durationMs, warmupMs, 20_240 + qps);
        const s = summarize(r.latencies);
        const values: Record<string, number | null> = {
          qps, queries: r.queries, errPct: round((100 * r.errors) / Math.max(1, r.queries)),
          p50Ms: round(s.p50), p99Ms: round(s.p99), meanMs: round(s.mean), costPerQuery: round(r.cost / Math.max(1, r.queries)),
        };
        for (const rep of REPLICAS) values[`${rep.id}%`] = round((100 * (r.share[rep.id] ?? 0)) / Math.max(1, r.queries));
        rows.push({ label: `${p.label}, ${qps} qps`, values });
        // The target reads the middle load (300 qps, also the quick run's only load).
        if (qps === 300) {
          metrics[`${p.key}P50Ms`] = values['p50Ms'] ?? null;
          metrics[`${p.key}P99Ms`] = values['p99Ms'] ?? null;
          metrics[`${p.key}ErrPct`] = values['errPct'] ?? null;
          metrics[`${p.key}Cost`] = values['costPerQuery'] ?? null;
        }
      }
    }
    const notes = [
      `Replicas: ${REPLICAS.map((r) => `${r.id} (${r.serviceMs} ms × ${r.concurrency} servers, queue ${r.maxQueue}, price ${r.price}, link ${r.linkMs} ms${r.errorRate > 0 ? `, fails ${100 * r.errorRate}% fast` : ''}${r.backgroundQps > 0 ? `, +${r.backgroundQps} qps from other clients` : ''})`).join('; ')}.`,
      `Open-loop Poisson arrivals, ${durationMs / 1000} s simulated per case after ${warmupMs / 1000} s warm-up; log-normal service times (CV ${CV}); one attempt per query; adverts on quarter-capacity load changes (checked every ${ADVERT_CHECK_MS} ms) and every ${ADVERT_REFRESH_MS} ms.`,
      'Deterministic: seeded arrivals, service times and background traffic are identical across policies. p50/p99 over successful queries; errPct counts refusals (QueueFull) and the flaky replica\'s failures; cost = mean price paid per query.',
    ];
    return Promise.resolve({ name: 'routing', title: this.title, status: 'ok', durationMs: performance.now() - started, columns: COLUMNS, rows, metrics, notes });
  },
};
