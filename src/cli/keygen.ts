// `plexus keygen swarm-key`: a new pre-shared key for a private cluster, on stdout.
// `plexus keygen token [--tenant NAME] [--role query|admin]`: a new random caller token and the
// tokens-file line (its SHA-256 only) to paste under `tokens:`.
import { parseArgs } from 'node:util';
import { generateToken } from '../node/auth/tokens.ts';
import { generateSwarmKey } from '../node/p2p/swarm-key.ts';
import { EXIT_OK, UsageError } from './cli-error.ts';

export const KEYGEN_HELP = `Usage: plexus keygen swarm-key > swarm.key
       plexus keygen token [--tenant NAME] [--role query|admin]

swarm-key  print a new pre-shared key (libp2p private network, /key/swarm/psk/1.0.0/) for
           --swarm-key; every node of the cluster needs the same file, kept secret
token      print a new random caller token, then the line to paste under 'tokens:' in the
           --tokens file (which stores only the token's SHA-256)
`;

export function runKeygen(args: readonly string[]): number {
  const [what, ...rest] = args;
  if (what === undefined || what === '--help' || what === '-h') {
    process.stdout.write(KEYGEN_HELP);
    return EXIT_OK;
  }
  if (what === 'swarm-key') {
    if (rest.length > 0) throw new UsageError(`keygen swarm-key takes no arguments (got ${rest.join(' ')})`);
    process.stdout.write(generateSwarmKey());
    return EXIT_OK;
  }
  if (what === 'token') {
    const { values } = parseArgs({ args: rest, options: { tenant: { type: 'string', default: 'alice' }, role: { type: 'string', default: 'query' } }, strict: true });
    if (values.role !== 'query' && values.role !== 'admin') throw new UsageError(`--role: expected query or admin, not '${values.role}'`);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(values.tenant)) throw new UsageError(`--tenant: '${values.tenant}' is not a tenant name (letters, digits, . _ -)`);
    const { token, entry } = generateToken(values.tenant, values.role);
    process.stdout.write(`${token}\n# tokens file line (only the hash; keep the token above secret):\n${entry}\n`);
    return EXIT_OK;
  }
  throw new UsageError(`unknown keygen target '${what}' (expected swarm-key or token)`);
}
