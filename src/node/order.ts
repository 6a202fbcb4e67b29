// String order for what the node returns (capabilities, peers, routes, dashboard series): by
// UTF-16 code unit, the same on every machine whatever its locale (localeCompare ordered them by
// the daemon's ICU locale, so two nodes could list the same routes in different orders).

/** Ascending by code unit; a comparator for Array.prototype.sort. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
