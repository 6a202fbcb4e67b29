// The node's component runner (src/node/lifecycle.ts) with fake components that log what is
// called: dependency order, reverse stop, undo of a partial start, idempotent stop, drain first.
import { describe, expect, it } from 'vitest';
import { createLifecycle, startOrder, type Component } from '../../src/node/lifecycle.ts';

function fakes(log: string[], specs: readonly { name: string; dependsOn?: string[]; failStart?: boolean; failStop?: boolean; stopMs?: number }[]): Component[] {
  return specs.map((s) => ({
    name: s.name,
    ...(s.dependsOn === undefined ? {} : { dependsOn: s.dependsOn }),
    async start() {
      await Promise.resolve();
      if (s.failStart === true) throw new Error(`${s.name} failed`);
      log.push(`start ${s.name}`);
    },
    drain() { log.push(`drain ${s.name}`); },
    async stop() {
      log.push(`stop ${s.name}`);
      if (s.stopMs !== undefined) await new Promise((r) => setTimeout(r, s.stopMs));
      if (s.failStop === true) throw new Error(`${s.name} stop failed`);
      log.push(`stopped ${s.name}`);
    },
  }));
}

describe('component lifecycle', () => {
  it('starts dependencies first (else in declaration order) and stops in reverse', async () => {
    const log: string[] = [];
    const lc = createLifecycle(fakes(log, [
      { name: 'server', dependsOn: ['inference', 'trust'] },
      { name: 'trust' },
      { name: 'inference', dependsOn: ['trust'] },
      { name: 'watch', dependsOn: ['server'] },
    ]));
    await lc.start();
    expect(log).toEqual(['start trust', 'start inference', 'start server', 'start watch']);
    expect(lc.running()).toEqual(['trust', 'inference', 'server', 'watch']);
    log.length = 0;
    await lc.stop();
    expect(log).toEqual([
      'drain watch', 'drain server', 'drain inference', 'drain trust',
      'stop watch', 'stopped watch', 'stop server', 'stopped server', 'stop inference', 'stopped inference', 'stop trust', 'stopped trust',
    ]);
    expect(lc.running()).toEqual([]);
  });

  it('parts that do not depend on each other stop together; a shared dependency waits for both', async () => {
    const log: string[] = [];
    const lc = createLifecycle(fakes(log, [
      { name: 'core' }, { name: 'grpc', dependsOn: ['core'], stopMs: 30 }, { name: 'http', dependsOn: ['core'], stopMs: 10 },
    ]));
    await lc.start();
    log.length = 0;
    await lc.stop();
    const stops = log.filter((l) => l.startsWith('stop'));
    expect(stops.slice(0, 2).sort()).toEqual(['stop grpc', 'stop http']);
    expect(stops.slice(2)).toEqual(['stopped http', 'stopped grpc', 'stop core', 'stopped core']);
  });

  it('a start that throws stops what had started, in reverse, without draining, and rethrows', async () => {
    const log: string[] = [];
    const lc = createLifecycle(fakes(log, [
      { name: 'trust' }, { name: 'grpc', dependsOn: ['trust'] }, { name: 'http', dependsOn: ['trust'] }, { name: 'watch', dependsOn: ['http'], failStart: true }, { name: 'jobs' },
    ]));
    await expect(lc.start()).rejects.toThrow('watch failed');
    expect(log).toEqual([
      'start trust', 'start grpc', 'start http',
      'stop grpc', 'stopped grpc', 'stop http', 'stopped http', 'stop trust', 'stopped trust',
    ]);
    expect(lc.running()).toEqual([]);
    // Nothing left to stop, and no second start.
    await lc.stop();
    await expect(lc.start()).rejects.toThrow(/cannot start/);
    expect(log).toHaveLength(9);
  });

  it('stop is idempotent, and one failing stop does not keep the others from stopping', async () => {
    const log: string[] = [];
    const errors: string[] = [];
    const lc = createLifecycle(fakes(log, [{ name: 'a' }, { name: 'b', dependsOn: ['a'], failStop: true }]), {
      onError: (name, phase, e) => { errors.push(`${phase} ${name}: ${(e as Error).message}`); },
    });
    await lc.start();
    log.length = 0;
    await Promise.all([lc.stop(), lc.stop()]);
    await lc.stop();
    expect(log).toEqual(['drain b', 'drain a', 'stop b', 'stop a', 'stopped a']);
    expect(errors).toEqual(['stop b: b stop failed']);
  });

  it('a stop during the start waits for it, then stops everything', async () => {
    const log: string[] = [];
    const lc = createLifecycle(fakes(log, [{ name: 'a' }, { name: 'b', dependsOn: ['a'] }]));
    const started = lc.start();
    const stopped = lc.stop();
    await started;
    await stopped;
    expect(log).toEqual(['start a', 'start b', 'drain b', 'drain a', 'stop b', 'stopped b', 'stop a', 'stopped a']);
  });

  it('refuses an unknown dependency, a cycle and a name declared twice', () => {
    const c = (name: string, dependsOn: string[] = []): Component => ({ name, dependsOn, start() {}, stop() {} });
    expect(() => startOrder([c('a', ['x'])])).toThrow("component 'a' depends on 'x', which is not declared");
    expect(() => startOrder([c('a', ['b']), c('b', ['a'])])).toThrow('components depend on each other: a -> b -> a');
    expect(() => startOrder([c('a'), c('a')])).toThrow("component 'a' is declared twice");
    expect(startOrder([c('b', ['a']), c('a'), c('c')]).map((x) => x.name)).toEqual(['a', 'b', 'c']);
  });
});
