// `node.limits` in the config file: defaults defined once, overrides checked and named.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { compileNodeOptions, DEFAULT_LIMITS } from '../../src/node/options.ts';

function compileWith(node: Record<string, unknown>): ReturnType<typeof compileNodeOptions> {
  const dir = mkdtempSync(path.join(tmpdir(), 'plexus-limits-opts-'));
  const config = path.join(dir, 'plexus.json');
  writeFileSync(config, JSON.stringify({ node, models: [] }));
  return compileNodeOptions({ config }, { cwd: dir, home: dir });
}

describe('node.limits', () => {
  it('defaults every limit and takes overrides one by one', () => {
    expect(compileWith({}).limits).toEqual(DEFAULT_LIMITS);
    const limits = compileWith({ limits: { maxBytesElements: 10, httpMaxConnections: 3 } }).limits;
    expect(limits).toEqual({ ...DEFAULT_LIMITS, maxBytesElements: 10, httpMaxConnections: 3 });
  });

  it('refuses bad values naming the field', () => {
    expect(() => compileWith({ limits: { maxTypedElements: 0 } })).toThrow(ConfigError);
    expect(() => compileWith({ limits: { maxTypedElements: 0 } })).toThrow(/^node\.limits\.maxTypedElements: /);
    expect(() => compileWith({ limits: { maxElements: 5 } })).toThrow(/^node\.limits: unknown field "maxElements"/);
    expect(() => compileWith({ limits: { httpHeadersTimeoutMs: 5000, httpRequestTimeoutMs: 1000 } })).toThrow(/httpHeadersTimeoutMs: 5000 is longer than httpRequestTimeoutMs/);
  });
});
