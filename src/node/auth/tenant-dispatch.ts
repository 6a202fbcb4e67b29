// Per-tenant accounting around the node's dispatcher: the tenant's rate and cost budget are
// checked before a query runs (BudgetExceededError when over), its cost (plexus.cost) is
// charged after, and every query is counted by tenant (plexus_tenant_requests_total). Queries
// without a tenant (no tokens file) pass untouched.
import { Counter, type Registry } from '../prom.ts';
import type { InferRequest } from '../../inference/types.ts';
import type { Logger } from '../../logger.ts';
import type { QueryDispatcher } from '../dispatch.ts';
import { statusName, toServiceError } from '../../wire/status.ts';
import type { Budgets } from './budgets.ts';
import type { Principal, TenantLimits } from './tokens.ts';
import { PARAM } from '../../wire/params.ts';

/** The decoded request with the caller's tenant (when authenticated). */
export function withTenant<T extends { readonly request: InferRequest }>(decoded: T, principal: Principal | undefined): T {
  return principal === undefined ? decoded : { ...decoded, request: { ...decoded.request, tenant: principal.tenant } };
}

export interface TenantDispatchInit {
  readonly budgets: Budgets;
  readonly limits: (tenant: string) => TenantLimits | undefined;
  readonly registry: Registry;
  readonly logger: Logger;
}

export interface TenantAccounting {
  wrap(inner: QueryDispatcher): QueryDispatcher;
}

export function createTenantAccounting(init: TenantDispatchInit): TenantAccounting {
  const requests = new Counter({
    name: 'plexus_tenant_requests_total', help: 'Queries by authenticated tenant and status code (RESOURCE_EXHAUSTED: over its rate or budget).',
    labelNames: ['tenant', 'code'] as const, registers: [init.registry],
  });
  const spent = new Counter({
    name: 'plexus_tenant_cost_total', help: 'Cost units (plexus.cost) charged to each tenant.',
    labelNames: ['tenant'] as const, registers: [init.registry],
  });
  return {
    wrap(inner) {
      return {
        async infer(req) {
          const tenant = req.tenant;
          if (tenant === undefined) return inner.infer(req);
          const limits = init.limits(tenant);
          let code = 'OK';
          try {
            init.budgets.admit(tenant, limits);
            const result = await inner.infer(req);
            const cost = Number(result.parameters[PARAM.cost] ?? 0);
            init.budgets.charge(tenant, limits, cost);
            if (cost > 0) spent.inc({ tenant }, cost);
            return result;
          } catch (e) {
            code = statusName(toServiceError(e).code);
            if (code === 'RESOURCE_EXHAUSTED') init.logger.info({ queryId: req.id, tenant, err: (e as Error).message }, 'query refused: tenant over its limits');
            throw e;
          } finally {
            requests.inc({ tenant, code });
          }
        },
      };
    },
  };
}
