// node.p2p.limits and node.p2p.connections: defaults when absent, overrides from the config
// file, and a ConfigError naming the field when a value is out of range or contradicts another.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../../../src/node/p2p/conn-policy.ts';
import { compileNodeOptions } from '../../../src/node/options.ts';
import { DEFAULT_PEER_LIMITS } from '../../../src/routing/peer-limits.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'plexus-limits-'));
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function compile(node: unknown): ReturnType<typeof compileNodeOptions> {
  const file = path.join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ node, models: [] }));
  return compileNodeOptions({ config: file, grpc: '127.0.0.1:0', dataDir: dir });
}

describe('peer and connection limits in the config', () => {
  it('defaults when absent', () => {
    const o = compile({});
    expect(o.p2p?.limits).toEqual(DEFAULT_PEER_LIMITS);
    expect(o.p2p?.connections).toEqual(DEFAULT_CONNECTION_LIMITS);
  });

  it('overrides field by field', () => {
    const o = compile({ p2p: { limits: { maxOrigins: 100, hintAddrsPerOrigin: 1 }, connections: { maxInboundPerIp: 4 } } });
    expect(o.p2p?.limits).toEqual({ ...DEFAULT_PEER_LIMITS, maxOrigins: 100, hintAddrsPerOrigin: 1 });
    expect(o.p2p?.connections).toEqual({ ...DEFAULT_CONNECTION_LIMITS, maxInboundPerIp: 4 });
  });

  it('refuses bad values, naming the field', () => {
    expect(() => compile({ p2p: { limits: { maxFrameBytes: 10 } } })).toThrow(/node\.p2p\.limits\.maxFrameBytes/);
    expect(() => compile({ p2p: { limits: { maxOrigin: 10 } } })).toThrow(/unknown field "maxOrigin"/);
    expect(() => compile({ p2p: { limits: { maxAdvertBytes: 1024 * 1024 } } })).toThrow(ConfigError);
    expect(() => compile({ p2p: { limits: { maxAdvertBytes: 1024 * 1024 } } })).toThrow(/half of maxFrameBytes/);
    expect(() => compile({ p2p: { connections: { maxConnections: 10, reservedConnections: 10 } } })).toThrow(/reservedConnections/);
  });
});
