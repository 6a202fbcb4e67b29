// `plexus keygen`: a swarm key the node accepts, and a token whose pasted line authenticates it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseTokens, sha256Hex } from '../../src/node/auth/tokens.ts';
import { parseSwarmKey } from '../../src/node/p2p/swarm-key.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const plexus = (...args: string[]): Promise<{ stdout: string }> =>
  run(path.join(ROOT, 'node_modules/.bin/node'), [path.join(ROOT, 'src/cli/main.ts'), ...args], { timeout: 20_000 });

describe('plexus keygen', () => {
  it('swarm-key prints a new key in the swarm key file format, different each time', async () => {
    const [a, b] = await Promise.all([plexus('keygen', 'swarm-key'), plexus('keygen', 'swarm-key')]);
    expect(parseSwarmKey(a.stdout, 'a').byteLength).toBe(95);
    expect(a.stdout).not.toBe(b.stdout);
  });

  it('token prints the token and a tokens-file line holding only its hash', async () => {
    const { stdout } = await plexus('keygen', 'token', '--tenant', 'team-a', '--role', 'admin');
    const [token = '', , line = ''] = stdout.split('\n');
    expect(token).toMatch(/^plx_[A-Za-z0-9_-]{43}$/);
    expect(line).not.toContain(token);
    const tokens = parseTokens(`tokens:\n${line}\n`, 'pasted');
    expect(tokens.get(sha256Hex(token))).toEqual({ tenant: 'team-a', role: 'admin' });
    await expect(plexus('keygen', 'token', '--role', 'root')).rejects.toMatchObject({ code: 2 });
  });
});
