// Caller tokens. The tokens file stores no secret, only the SHA-256 of each token, with the
// tenant it stands for, its role and optional limits:
//   tokens:
//     - tenant: alice
//       role: query            # or admin
//       sha256: "<hex sha256 of the token>"
//       budget: {cost: 1000, perSeconds: 3600}   # optional
//       ratePerSecond: 50                        # optional
// A request presents `Bearer <token>`; its hash is looked up. The file is re-read on change;
// an invalid edit is logged and the previous tokens stay in force.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { ConfigError, UnauthenticatedError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { watchFileText, type FileWatch } from './file-watch.ts';

export type Role = 'query' | 'admin';

export interface TenantLimits {
  readonly budget?: { readonly cost: number; readonly perSeconds: number };
  readonly ratePerSecond?: number;
}

export interface Principal extends TenantLimits {
  readonly tenant: string;
  readonly role: Role;
}

const entrySchema = z.strictObject({
  tenant: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a name of letters, digits, . _ - (at most 64)'),
  role: z.enum(['query', 'admin']),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex digits (the SHA-256 of the token)'),
  budget: z.strictObject({ cost: z.number().positive(), perSeconds: z.number().positive().max(31_536_000) }).optional(),
  ratePerSecond: z.number().positive().optional(),
});
const fileSchema = z.strictObject({ tokens: z.array(entrySchema).max(100_000) });

export const TOKEN_PREFIX = 'plx_';

export const sha256Hex = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** A new random token and the tokens-file entry to paste (`plexus keygen token`). */
export function generateToken(tenant = 'alice', role: Role = 'query'): { token: string; entry: string } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, entry: `  - {tenant: ${tenant}, role: ${role}, sha256: "${sha256Hex(token)}"}` };
}

/** The file's tokens by hash; ConfigError naming the entry when invalid. */
export function parseTokens(text: string, where: string): ReadonlyMap<string, Principal> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${where}: not valid YAML: ${(e as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = (issue?.path ?? []).map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    throw new ConfigError(`${where}: ${at.replace(/^\./, '') || '(file)'}: ${issue?.message ?? 'invalid'}`);
  }
  const out = new Map<string, Principal>();
  parsed.data.tokens.forEach((t, i) => {
    const hash = t.sha256.toLowerCase();
    if (out.has(hash)) throw new ConfigError(`${where}: tokens[${i}]: the same sha256 appears twice`);
    out.set(hash, { tenant: t.tenant, role: t.role, ...(t.budget === undefined ? {} : { budget: t.budget }), ...(t.ratePerSecond === undefined ? {} : { ratePerSecond: t.ratePerSecond }) });
  });
  return out;
}

/** Each tenant's limits: those of its first token in the file. */
function tenantLimits(tokens: ReadonlyMap<string, Principal>): Map<string, TenantLimits> {
  const out = new Map<string, TenantLimits>();
  for (const p of tokens.values()) if (!out.has(p.tenant)) out.set(p.tenant, p);
  return out;
}

export interface TokenStore {
  /** The caller behind an Authorization value (`Bearer <token>`); UnauthenticatedError otherwise. */
  authenticate(authorization: string | undefined): Principal;
  /** A tenant's limits as the file says now (the first entry of that tenant). */
  limits(tenant: string): TenantLimits | undefined;
  stop(): void;
}

export function createTokenStore(file: string, logger: Logger): TokenStore {
  const where = `--tokens '${file}'`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${where}: cannot read: ${(e as Error).message}`);
  }
  let tokens = parseTokens(text, where);
  let byTenant = tenantLimits(tokens);
  const watch: FileWatch = watchFileText(file, (next) => {
    try {
      tokens = parseTokens(next, where);
      byTenant = tenantLimits(tokens);
      logger.info({ file, tokens: tokens.size }, 'tokens file changed: tokens applied');
    } catch (e) {
      logger.error({ file, err: (e as Error).message }, `tokens file changed but is invalid; keeping the previous tokens: ${(e as Error).message}`);
    }
  }, logger);
  return {
    authenticate(authorization) {
      if (authorization === undefined || authorization === '') throw new UnauthenticatedError('this node needs a token: send "authorization: Bearer <token>"');
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (m === null || m[1] === undefined) throw new UnauthenticatedError('the authorization header must be "Bearer <token>"');
      const p = tokens.get(sha256Hex(m[1]));
      if (p === undefined) throw new UnauthenticatedError('unknown token');
      return p;
    },
    limits: (tenant) => byTenant.get(tenant),
    stop: () => watch.stop(),
  };
}
