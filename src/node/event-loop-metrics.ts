// The node's own event-loop delay as Prometheus gauges: how long a ready callback (a gRPC
// request, a route advert, a liveness ping) had to wait for the main thread, from
// perf_hooks.monitorEventLoopDelay. Each scrape reads the window since the previous scrape and
// starts a new one, so the p99 is of the last scrape interval. Model runs and audio decoding on
// worker threads (src/inference/worker/) are what keep it small under model load.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from './prom.ts';

/** Sampling period of the delay monitor, ms: 50 wake-ups a second while it runs. */
export const EVENT_LOOP_RESOLUTION_MS = 20;
/**
 * The monitor stops when nobody scraped for this long, and the next scrape starts it again
 * (that scrape reports 0, its window being empty). Running, it cost an idle daemon 3.7 ms of
 * CPU a second (measured: 20 ms resolution vs none, 20 s, Node 22), i.e. 0.075 cores for 20
 * idle daemons; longer than Prometheus' default 60 s scrape interval, so a scraped node never stops.
 */
export const EVENT_LOOP_UNSCRAPED_STOP_MS = 90_000;

export function registerEventLoopDelay(registers: Registry[], stopAfterMs = EVENT_LOOP_UNSCRAPED_STOP_MS): void {
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  let running = false;
  let stopTimer: NodeJS.Timeout | undefined;
  /** (Re)start the monitor and the countdown to stopping it; true when it was already running. */
  const keepRunning = (): boolean => {
    const was = running;
    if (!running) { histogram.reset(); histogram.enable(); running = true; } // its timer is unref'd
    if (stopTimer !== undefined) clearTimeout(stopTimer);
    stopTimer = setTimeout(() => { histogram.disable(); running = false; stopTimer = undefined; }, stopAfterMs);
    stopTimer.unref();
    return was;
  };
  keepRunning();
  let window = { p99: 0, max: 0 };
  let readAt = -Infinity;
  /** Both gauges collect on one scrape: the first reads and resets, the other reuses it (scrapes < 250 ms apart share a window). */
  const take = (): typeof window => {
    const now = performance.now();
    if (now - readAt >= 250) {
      if (!keepRunning()) { window = { p99: 0, max: 0 }; readAt = now; return window; }
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
