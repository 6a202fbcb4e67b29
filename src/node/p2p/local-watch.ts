// When to look at the local models again for the routes protocol, from the engine's events
// instead of a poll. A model loaded or unloaded: look now. A run started or ended (load and
// compute time may have moved): look once per LOAD_LOOK_MS while runs go, and once more after
// QUIET_LOOK_MS without any, which sends the final load the routes protocol may have held back
// (at most one load advert per second). An idle node sets no timer at all.
import type { LocalInference } from '../../inference/types.ts';

/** Least time between two looks while runs start and end. */
export const LOAD_LOOK_MS = 100;
/** Quiet time after the last run start or end before a last look (just over 1 s between load adverts). */
export const QUIET_LOOK_MS = 1100;

/** Calls `look` as described above; returns a function that stops watching (timers included). */
export function watchLocalModels(local: Pick<LocalInference, 'onChange' | 'onActivity'>, look: () => void): () => void {
  let soon: NodeJS.Timeout | undefined;
  let quiet: NodeJS.Timeout | undefined;
  let lastActivity = 0;
  const quietLook = (): void => {
    const quietFor = Date.now() - lastActivity;
    if (quietFor >= QUIET_LOOK_MS) {
      quiet = undefined;
      look();
      return;
    }
    quiet = setTimeout(quietLook, QUIET_LOOK_MS - quietFor);
    quiet.unref();
  };
  const offActivity = local.onActivity(() => {
    lastActivity = Date.now();
    if (quiet === undefined) quietLook();
    if (soon !== undefined) return;
    soon = setTimeout(() => { soon = undefined; look(); }, LOAD_LOOK_MS);
    soon.unref();
  });
  const offChange = local.onChange(look);
  return () => {
    offActivity();
    offChange();
    if (soon !== undefined) clearTimeout(soon);
    if (quiet !== undefined) clearTimeout(quiet);
    soon = undefined;
    quiet = undefined;
  };
}
