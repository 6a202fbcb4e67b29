// Per-tenant limits from the tokens file: a request rate (token bucket, one second of burst)
// and a cost budget per window (fixed window from the tenant's first charge). Over either:
// BudgetExceededError (RESOURCE_EXHAUSTED, HTTP 429) saying when it resets. Pure; the clock
// is injectable.
import { BudgetExceededError } from '../../errors.ts';
import type { TenantLimits } from './tokens.ts';

export interface Budgets {
  /** Take one request from the tenant's rate and check its cost budget; throws when over. */
  admit(tenant: string, limits: TenantLimits | undefined): void;
  /** Charge what a query cost (plexus.cost). */
  charge(tenant: string, limits: TenantLimits | undefined, cost: number): void;
}

interface TenantState {
  tokens: number;
  refilledAt: number;
  windowStart: number;
  spent: number;
}

export function createBudgets(now: () => number = Date.now): Budgets {
  const tenants = new Map<string, TenantState>();
  const state = (tenant: string): TenantState => {
    let s = tenants.get(tenant);
    if (s === undefined) {
      s = { tokens: Number.NaN, refilledAt: now(), windowStart: now(), spent: 0 };
      tenants.set(tenant, s);
    }
    return s;
  };
  const rollWindow = (s: TenantState, perMs: number, t: number): void => {
    if (t - s.windowStart >= perMs) {
      s.windowStart = t - ((t - s.windowStart) % perMs);
      s.spent = 0;
    }
  };
  return {
    admit(tenant, limits) {
      if (limits === undefined) return;
      const s = state(tenant);
      const t = now();
      if (limits.budget !== undefined) {
        const perMs = limits.budget.perSeconds * 1000;
        rollWindow(s, perMs, t);
        if (s.spent >= limits.budget.cost) {
          const resetAt = s.windowStart + perMs;
          throw new BudgetExceededError(`tenant '${tenant}' has spent its cost budget (${s.spent} of ${limits.budget.cost} per ${limits.budget.perSeconds} s); it resets at ${new Date(resetAt).toISOString()} (in ${Math.ceil((resetAt - t) / 1000)} s)`);
        }
      }
      const rate = limits.ratePerSecond;
      if (rate !== undefined) {
        const burst = Math.max(1, rate);
        s.tokens = Number.isNaN(s.tokens) ? burst : Math.min(burst, s.tokens + ((t - s.refilledAt) / 1000) * rate);
        s.refilledAt = t;
        if (s.tokens < 1) {
          const waitMs = Math.ceil(((1 - s.tokens) / rate) * 1000);
          throw new BudgetExceededError(`tenant '${tenant}' is over its rate of ${rate} requests/s; it resets in ${waitMs} ms`);
        }
        s.tokens -= 1;
      }
    },
    charge(tenant, limits, cost) {
      if (limits?.budget === undefined || !(cost > 0)) return;
      const s = state(tenant);
      rollWindow(s, limits.budget.perSeconds * 1000, now());
      s.spent += cost;
    },
  };
}
