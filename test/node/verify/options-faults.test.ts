// node.verify and the trust fault knobs are validated and compiled once, with the field named;
// the answer faults drop (until the caller gives up) or corrupt answers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError, ConfigError } from '../../../src/errors.ts';
import { applyAnswerFault } from '../../../src/inference/fault.ts';
import type { Tensor } from '../../../src/inference/types.ts';
import { compileNodeOptions } from '../../../src/node/options.ts';
import { DEFAULT_VERIFY_RATE } from '../../../src/node/verify/verifier.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'plexus-verify-opts-'));
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function compile(config: unknown): ReturnType<typeof compileNodeOptions> {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config));
  return compileNodeOptions({ config: file }, { cwd: dir, home: dir });
}

describe('node.verify and fault knobs in the config file', () => {
  it('defaults: the sample rate is small and non-zero; the knobs are off', () => {
    const o = compile({});
    expect(o.p2p?.verify).toEqual({ rate: DEFAULT_VERIFY_RATE, tolerances: {} });
    expect(DEFAULT_VERIFY_RATE).toBeGreaterThan(0);
    expect(DEFAULT_VERIFY_RATE).toBeLessThan(0.1);
    expect(o.models[0]?.fault).toEqual({ delayMs: 0, errorRate: 0 });
  });

  it('set values are compiled; bad ones are refused naming the field', () => {
    const o = compile({
      node: { verify: { rate: 0.5, tolerances: { 'speech.vad': 0.01 } } },
      models: [{ name: 'vad', path: 'builtin:silero-vad', fault: { advertiseComputeMs: 0, corruptRate: 0.5, dropRate: 0.25 } }],
    });
    expect(o.p2p?.verify).toEqual({ rate: 0.5, tolerances: { 'speech.vad': 0.01 } });
    expect(o.models[0]?.fault).toMatchObject({ advertiseComputeMs: 0, corruptRate: 0.5, dropRate: 0.25 });
    expect(() => compile({ node: { verify: { rate: 2 } } })).toThrow(/node\.verify\.rate/);
    expect(() => compile({ node: { verify: { sample: 1 } } })).toThrow(ConfigError);
    expect(() => compile({ models: [{ name: 'vad', path: 'builtin:silero-vad', fault: { corruptRate: 1.5 } }] })).toThrow(/models\[0\]\.fault\.corruptRate/);
    expect(() => compile({ models: [{ name: 'vad', path: 'builtin:silero-vad', fault: { dropRate: -1 } }] })).toThrow(/dropRate/);
  });
});

describe('answer faults', () => {
  const out: Tensor[] = [{ name: 'output', datatype: 'FP32', shape: [1], data: Float32Array.from([0.5]) }];
  const spec = { delayMs: 0, errorRate: 0 };

  it('dropRate holds the answer until the caller cancels; corruptRate alters it; neither fires at 0', async () => {
    const ctl = new AbortController();
    const dropped = applyAnswerFault('vad', { ...spec, dropRate: 1 }, out, { signal: ctl.signal });
    setTimeout(() => { ctl.abort(); }, 50);
    await expect(dropped).rejects.toBeInstanceOf(CancelledError);
    const corrupted = await applyAnswerFault('vad', { ...spec, corruptRate: 1 }, out, {});
    expect([...(corrupted[0]?.data as Float32Array)]).toEqual([0.75]);
    expect(await applyAnswerFault('vad', spec, out, {})).toBe(out);
  });
});
