// Job instruments on the node's registry: jobs by state (read from the store at scrape time),
// items by outcome (gRPC status name) and item latency (submission of the item's first try to
// its recorded outcome, retries included).
import { Counter, Gauge, Histogram, type Registry } from '../prom.ts';
import { JOB_STATES } from './policy.ts';
import type { JobStore } from './store.ts';

export interface JobMetrics {
  /** The store the jobs gauge reads; undefined once it is closed. */
  setStore(store: JobStore | undefined): void;
  item(status: string, latencyMs: number): void;
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export function createJobMetrics(registry: Registry): JobMetrics {
  let store: JobStore | undefined;
  const registers = [registry];
  new Gauge({
    name: 'plexus_jobs', help: 'Jobs in this node\'s job store, by state.', labelNames: ['state'] as const, registers,
    collect() {
      const counts = store?.countsByState() ?? {};
      for (const state of JOB_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });
  const items = new Counter({
    name: 'plexus_job_items_total', help: 'Job items finished at this node, by outcome (gRPC status name; OK = answered).',
    labelNames: ['outcome'] as const, registers,
  });
  const latency = new Histogram({
    name: 'plexus_job_item_duration_seconds', help: 'Time from an item\'s first try to its recorded outcome, retries included.',
    labelNames: ['outcome'] as const, buckets: BUCKETS, registers,
  });
  return {
    setStore(s) { store = s; },
    item(outcome, ms) {
      items.inc({ outcome });
      latency.observe({ outcome }, ms / 1000);
    },
  };
}
