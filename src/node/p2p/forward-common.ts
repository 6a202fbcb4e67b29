// Bits the two ends of /plexus/forward share (src/node/p2p/forward-protocol.ts, forward-inbound.ts).
import { RemoteError } from '../../errors.ts';
import type { HopTiming } from './forward-frame.ts';

/** Failure of a forwarded query, with the timings of the hops that answered. */
export class ForwardFailure extends RemoteError {
  readonly hops: readonly HopTiming[];
  constructor(err: RemoteError, hops: readonly HopTiming[]) {
    super(err.kind, err.message);
    this.hops = hops;
  }
}

/** Some libp2p failures (aborted dials) carry no message: name them rather than print 'undefined'. */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const m: unknown = e.message;
    return typeof m === 'string' && m !== '' ? m : e.name;
  }
  return String(e);
}

export function frameBytes(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  return n;
}
