// The node's own event-loop delay as Prometheus gauges: how long a ready callback (a gRPC
// request, a route advert, a liveness ping) had to wait for the main thread, from
// perf_hooks.monitorEventLoopDelay. Each scrape reads the window since the previous scrape and
// starts a new one, so the p99 is of the last scrape interval. Model runs and audio decoding on
// worker threads (src/inference/worker/) are what keep it small under model load.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** Sampling period of the delay monitor, ms: 50 wake-ups a second, a negligible idle cost. */
export const EVENT_LOOP_RESOLUTION_MS = 20;

export function registerEventLoopDelay(registers: Registry[]): void {
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  histogram.enable(); // its timer is unref'd: it never keeps a process alive
  let window = { p99: 0, max: 0 };
  let readAt = -Infinity;
  /** Both gauges collect on one scrape: the first reads and resets, the other reuses it (scrapes < 250 ms apart share a window). */
  const take = (): typeof window => {
    const now = performance.now();
    if (now - readAt >= 250) {
      const ok = histogram.count > 0;
      window = { p99: ok ? histogram.percentile(99) / 1e9 : 0, max: ok ? histogram.max / 1e9 : 0 };
      histogram.reset();
      readAt = now;
    }
    return window;
  };
  new Gauge({
    name: 'plexus_event_loop_delay_p99_seconds',
    help: 'p99 of the main thread\'s event-loop delay since the previous scrape (perf_hooks.monitorEventLoopDelay, 20 ms resolution).',
    registers, collect() { this.set(take().p99); },
  });
  new Gauge({
    name: 'plexus_event_loop_delay_max_seconds',
    help: 'Longest event-loop delay of the main thread since the previous scrape.',
    registers, collect() { this.set(take().max); },
  });
}
