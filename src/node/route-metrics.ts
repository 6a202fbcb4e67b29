// plexus_capability_routes: how many usable routes this node has to each capability it has ever
// seen advertised (its own models' included). A capability whose providers all went away reads
// 0 instead of vanishing, so "advertised, now unreachable" is one alert expression
// (deploy/grafana/plexus-alerts.yml: plexus_capability_routes == 0).
import { Gauge, type Registry } from './prom.ts';

/** What the gauge reads of a route: the capabilities its model offers. */
export interface CapabilityRoute {
  readonly capabilities: readonly string[];
}

/** Bound on capability names remembered (label values stay bounded). */
export const MAX_CAPABILITIES = 1024;

/** Routes per capability; `seen` remembers names across scrapes, each first seen kept while room lasts. */
export function countCapabilityRoutes(routes: readonly CapabilityRoute[], seen: Set<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of routes) {
    for (const c of r.capabilities) {
      if (!seen.has(c) && seen.size >= MAX_CAPABILITIES) continue;
      seen.add(c);
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
  }
  for (const c of seen) if (!counts.has(c)) counts.set(c, 0);
  return counts;
}

/** Registers the gauge; `routes` is read at scrape time (undefined: no routing table, nothing to say). */
export function registerCapabilityRoutes(registry: Registry, routes: () => readonly CapabilityRoute[] | undefined): void {
  const seen = new Set<string>();
  new Gauge({
    name: 'plexus_capability_routes',
    help: 'Usable routes (provider and model) this node has to each capability ever advertised to it; 0 when all went away.',
    labelNames: ['capability'] as const,
    registers: [registry],
    collect() {
      const current = routes();
      if (current === undefined) return;
      for (const [capability, n] of countCapabilityRoutes(current, seen)) this.set({ capability }, n);
    },
  });
}
