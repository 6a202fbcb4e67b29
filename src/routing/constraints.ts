// Parse a query's `plexus.*` request parameters into QueryConstraints. Values may arrive as
// strings (gRPC string_param, HTTP) or numbers; anything else is rejected with the name of
// the parameter and what was expected. Unknown `plexus.*` keys are left to other layers.

import { InvalidInputError } from '../errors.ts';
import { PARAM } from '../wire/params.ts';
import { EXECUTION_PROVIDERS, type ParamValue, type Params } from '../wire/types.ts';
import type { PreferPolicy, QueryConstraints } from './types.ts';

const PREFERS: readonly PreferPolicy[] = ['latency', 'cost', 'balanced'];
const MAX_PEER_ID_LENGTH = 256;
const MAX_HOPS = 255;

function describe(v: ParamValue): string {
  return typeof v === 'string' ? `'${v.length > 64 ? `${v.slice(0, 64)}…` : v}'` : String(v);
}

function number(params: Params, key: string, expected: string, ok: (n: number) => boolean): number | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : NaN;
  if (!Number.isFinite(n) || !ok(n)) throw new InvalidInputError(`parameter ${key} must be ${expected}, got ${describe(v)}`);
  return n;
}

function oneOf<T extends string>(params: Params, key: string, allowed: readonly T[]): T | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  const s = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
  const found = allowed.find((a) => a === s);
  if (found === undefined) throw new InvalidInputError(`parameter ${key} must be one of ${allowed.join('|')}, got ${describe(v)}`);
  return found;
}

/**
 * @param grpcDeadline the transport's absolute deadline, epoch ms (Infinity or undefined = none)
 * @param now epoch ms; the result's deadlineMs is the time left, the tighter of both deadlines
 */
export function parseConstraints(params: Params, grpcDeadline: number | undefined, now: number): QueryConstraints {
  const budget = number(params, PARAM.deadlineMs, 'a positive number of milliseconds', (n) => n > 0);
  const maxCost = number(params, PARAM.maxCost, 'a non-negative number (cost units per call)', (n) => n >= 0);
  const maxHops = number(params, PARAM.maxHops, `an integer from 0 to ${MAX_HOPS}`, (n) => Number.isInteger(n) && n >= 0 && n <= MAX_HOPS);
  const hedgeMs = number(params, PARAM.hedgeMs, 'a positive number of milliseconds', (n) => n > 0);
  const prefer = oneOf(params, PARAM.prefer, PREFERS) ?? 'balanced';
  const provider = oneOf(params, PARAM.provider, EXECUTION_PROVIDERS);
  let peer: string | undefined;
  const p = params[PARAM.peer];
  if (p !== undefined) {
    if (typeof p !== 'string' || p.trim() === '' || p.length > MAX_PEER_ID_LENGTH || /\s/.test(p.trim())) {
      throw new InvalidInputError(`parameter plexus.peer must be a peer id (non-empty, no spaces, at most ${MAX_PEER_ID_LENGTH} chars), got ${describe(p)}`);
    }
    peer = p.trim();
  }
  let deadlineMs = budget;
  if (grpcDeadline !== undefined && Number.isFinite(grpcDeadline)) {
    const left = Math.max(0, grpcDeadline - now);
    deadlineMs = deadlineMs === undefined ? left : Math.min(deadlineMs, left);
  }
  return {
    prefer,
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    ...(maxCost !== undefined ? { maxCost } : {}),
    ...(maxHops !== undefined ? { maxHops } : {}),
    ...(peer !== undefined ? { peer } : {}),
    ...(provider !== undefined ? { provider } : {}),
    ...(hedgeMs !== undefined ? { hedgeMs } : {}),
  };
}
