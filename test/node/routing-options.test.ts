// `node.routing` in the config file: the per-capability origin bound reaches the node's routing
// table options (unset: every origin is advertised onward), and a bad value is refused by name.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileNodeOptions } from '../../src/node/options.ts';
import { p2pInit } from '../../src/node/node-components.ts';

function compileWith(node: Record<string, unknown>): ReturnType<typeof compileNodeOptions> {
  const dir = mkdtempSync(path.join(tmpdir(), 'plexus-routing-opts-'));
  const config = path.join(dir, 'plexus.json');
  writeFileSync(config, JSON.stringify({ node, models: [] }));
  return compileNodeOptions({ config }, { cwd: dir, home: dir });
}

describe('node.routing.maxOriginsPerCapability', () => {
  it('reaches the routing table options; unset, the table is unbounded', () => {
    const bounded = compileWith({ routing: { maxOriginsPerCapability: 8 } });
    expect(bounded.p2p?.routing.maxOriginsPerCapability).toBe(8);
    const init = p2pInit(bounded.p2p!, bounded.dataDir, bounded.grpc.maxMessageBytes, undefined);
    expect(init.table).toMatchObject({ policy: 'plexus', maxOriginsPerCapability: 8 });
    const plain = compileWith({});
    expect(p2pInit(plain.p2p!, plain.dataDir, plain.grpc.maxMessageBytes, undefined).table).not.toHaveProperty('maxOriginsPerCapability');
  });

  it('refuses a bound below 1, naming the field', () => {
    expect(() => compileWith({ routing: { maxOriginsPerCapability: 0 } })).toThrow(/^node\.routing\.maxOriginsPerCapability: /);
  });
});
