// Logs refused peers (no or wrong swarm key, denied peer id) once per key (an address or a peer
// id) per window, and counts the rest, so a scanner or a misconfigured peer retrying every
// 200 ms cannot flood the log. Pure apart from the logger; the clock is injectable for tests.
import type { Logger } from '../../logger.ts';

export interface RefusalLog {
  /** Log this refusal unless `key` was logged within the window; returns whether it logged. */
  refused(key: string, reason: string, fields?: Record<string, unknown>): boolean;
  /** Refusals seen in total (logged or not). */
  count(): number;
}

export interface RefusalLogInit {
  readonly logger: Logger;
  /** One line per key per this many ms (default 60 s). */
  readonly windowMs?: number;
  /** Keys remembered at most (oldest forgotten first; default 4096). */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

export function createRefusalLog(init: RefusalLogInit): RefusalLog {
  const windowMs = init.windowMs ?? 60_000;
  const maxKeys = init.maxKeys ?? 4096;
  const now = init.now ?? Date.now;
  const last = new Map<string, { at: number; suppressed: number }>();
  let total = 0;
  return {
    refused(key, reason, fields = {}) {
      total++;
      const t = now();
      const seen = last.get(key);
      if (seen !== undefined && t - seen.at < windowMs) {
        seen.suppressed++;
        return false;
      }
      last.delete(key);
      if (last.size >= maxKeys) {
        const oldest = last.keys().next().value;
        if (oldest !== undefined) last.delete(oldest);
      }
      last.set(key, { at: t, suppressed: 0 });
      init.logger.warn({ ...fields, peer: key, suppressedBefore: seen?.suppressed ?? 0, windowMs }, `peer refused: ${reason}`);
      return true;
    },
    count: () => total,
  };
}
