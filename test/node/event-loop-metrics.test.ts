// The event-loop delay gauges see a blocked main thread, and each scrape starts a new window.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerEventLoopDelay } from '../../src/node/event-loop-metrics.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function gauge(registry: Registry, name: string): Promise<number> {
  const m = /^(\S+) (\S+)$/m.exec((await registry.metrics()).split('\n').filter((l) => l.startsWith(`${name} `)).join('\n'));
  if (m === null) throw new Error(`no ${name}`);
  return Number(m[2]);
}

describe('event-loop delay gauges', () => {
  it('report a 150 ms block in the window it happened, and not in the next one', async () => {
    const registry = new Registry();
    registerEventLoopDelay([registry]);
    await sleep(100);
    const until = performance.now() + 150;
    while (performance.now() < until) { /* hold the event loop */ }
    await sleep(100);
    const text = await registry.metrics();
    expect(text).toMatch(/^plexus_event_loop_delay_p99_seconds \S+$/m);
    const max = Number(/^plexus_event_loop_delay_max_seconds (\S+)$/m.exec(text)?.[1]);
    const p99 = Number(/^plexus_event_loop_delay_p99_seconds (\S+)$/m.exec(text)?.[1]);
    expect(max).toBeGreaterThan(0.1);
    expect(p99).toBeGreaterThan(0.1); // a handful of samples: the block is in the top 1%
    await sleep(400);
    expect(await gauge(registry, 'plexus_event_loop_delay_max_seconds')).toBeLessThan(max);
  });

  it('stop sampling when nobody scrapes, and start again at the next scrape', async () => {
    const registry = new Registry();
    registerEventLoopDelay([registry], 400);
    await sleep(600); // unscraped past stopAfterMs: the monitor is off
    const block = (ms: number): void => { const until = performance.now() + ms; while (performance.now() < until) { /* hold */ } };
    block(150);
    await sleep(50);
    // Off during the block: this scrape restarts it and has an empty window.
    expect(await gauge(registry, 'plexus_event_loop_delay_max_seconds')).toBe(0);
    await sleep(150); // scrapes under 250 ms apart share a window
    block(150);
    await sleep(50);
    expect(await gauge(registry, 'plexus_event_loop_delay_max_seconds')).toBeGreaterThan(0.1);
  });
});
