// Small helpers for the dispatcher's spans, so each traced step there stays one expression.
import type { TraceSpan } from '../../trace.ts';

/** Runs `work` inside `span` (ended when it settles, with the error when it fails); just `work()` without one. */
export function traced<T>(span: TraceSpan | undefined, work: () => Promise<T>): Promise<T> {
  if (span === undefined) return work();
  return work().then((out) => {
    span.end();
    return out;
  }, (e: unknown) => {
    span.end(e);
    throw e;
  });
}
