// Route updates packed into frames by BYTES, never over the shared frame limit (PeerLimits.
// maxFrameBytes, which receivers enforce too): a node that relays many origins sends several
// frames rather than one its neighbours refuse (which made them strike and hang up on an
// honest relay). An update that cannot fit a frame on its own is left out and reported.
import { encodeWireUpdate, MAX_UPDATES_PER_FRAME, ROUTES_WIRE_VERSION } from './advert-codec.ts';
import type { WireUpdate } from './advert-codec.ts';

export interface PackedFrames {
  readonly frames: Uint8Array[];
  /** Origins of updates too large for any frame on their own (not sent). */
  readonly skipped: string[];
}

/** `{"v":1,"u":[` + `],"addrs":{` + `}}` */
const OVERHEAD = Buffer.byteLength(`{"v":${ROUTES_WIRE_VERSION},"u":[],"addrs":{}}`);

/**
 * Frames carrying `updates` in order, each at most `maxBytes` long with at most
 * MAX_UPDATES_PER_FRAME updates, with each origin's dial hint (`hintFor`) in the frame that
 * carries its update.
 */
export function packRoutesFrames(updates: readonly WireUpdate[], hintFor: (origin: string) => readonly string[] | undefined, maxBytes: number): PackedFrames {
  const frames: Uint8Array[] = [];
  const skipped: string[] = [];
  let us: string[] = [];
  let hs: string[] = [];
  let size = OVERHEAD;
  const emit = (): void => {
    if (us.length === 0) return;
    frames.push(new TextEncoder().encode(`{"v":${ROUTES_WIRE_VERSION},"u":[${us.join(',')}],"addrs":{${hs.join(',')}}}`));
    us = []; hs = []; size = OVERHEAD;
  };
  const hinted = new Set<string>();
  for (const u of updates) {
    const origin = u.signed.advert.origin;
    const text = encodeWireUpdate(u);
    const hint = hinted.has(origin) ? undefined : hintFor(origin);
    const hintText = hint === undefined || hint.length === 0 ? undefined : `${JSON.stringify(origin)}:${JSON.stringify(hint)}`;
    // A comma before every item but the first of its list.
    const cost = (n: number, first: boolean): number => n + (first ? 0 : 1);
    const need = (): number => cost(Buffer.byteLength(text), us.length === 0) + (hintText === undefined ? 0 : cost(Buffer.byteLength(hintText), hs.length === 0));
    if (size + need() > maxBytes || us.length >= MAX_UPDATES_PER_FRAME) emit();
    if (size + need() > maxBytes) { skipped.push(origin); continue; }
    size += need();
    us.push(text);
    if (hintText !== undefined) { hs.push(hintText); hinted.add(origin); }
  }
  emit();
  return { frames, skipped };
}
