// Selection that waits out a re-convergence: when the only providers of a name lost their
// routes and wait for a newer seq (a next hop just died), poll until a route is back.
import { PeerUnavailableError } from '../../errors.ts';
import type { QueryConstraints, RoutingTableApi, Selection } from '../../routing/types.ts';

export type ConvergingTable = RoutingTableApi & { converging?(modelOrCapability: string): boolean };

/**
 * Select; while nothing is found and the table says the name is re-converging, poll every 20 ms
 * for up to `convergeWaitMs` (never past `deadline`). Still nothing: UNAVAILABLE (try again),
 * not NOT_FOUND (it does exist).
 */
export async function selectOrWait(
  table: ConvergingTable, convergeWaitMs: number, model: string, constraints: QueryConstraints, deadline: number, signal: AbortSignal | undefined,
): Promise<Selection> {
  const at = (now: number): QueryConstraints => (constraints.deadlineMs === undefined ? constraints : { ...constraints, deadlineMs: Math.max(0, deadline - now) });
  let now = Date.now();
  let sel = table.select(model, at(now), now);
  const until = Math.min(deadline, now + convergeWaitMs);
  const waiting = (s: Selection): boolean => !s.ok && s.failure.reason === 'unknown' && table.converging?.(model) === true;
  while (waiting(sel) && Date.now() < until && signal?.aborted !== true) {
    await new Promise((r) => setTimeout(r, 20));
    now = Date.now();
    sel = table.select(model, at(now), now);
  }
  if (waiting(sel)) throw new PeerUnavailableError(`no route to '${model}' right now: its providers' routes are re-converging after a failure; retry shortly`);
  return sel;
}
