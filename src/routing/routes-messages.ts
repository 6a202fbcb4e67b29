// What the routes protocol exchanges, as the protocol core sees it (no bytes): the wire codec
// (src/node/p2p/advert-codec.ts) encodes exactly these shapes.
import type { PeerIdString, ProviderAdvert } from './types.ts';

/** An advert with its origin's signature. */
export interface SignedAdvert {
  readonly advert: ProviderAdvert;
  readonly sig: Uint8Array;
}

/** A route update as sent: the signed advert it carries plus the sender's metric and hops. */
export interface SignedUpdate {
  readonly signed: SignedAdvert;
  readonly metricMs: number;
  readonly hops: number;
  readonly retracted: boolean;
}

/** A seqno request (RFC 8966 §3.8.1): "send me a newer seq of origin", forwarded toward it. */
export interface SeqnoRequestMsg {
  readonly origin: PeerIdString;
  readonly seq: number;
  /** Hops it may still be forwarded. */
  readonly hopsLeft: number;
}

/** An update that passed admission, with the digest of what was (or need not be) verified. */
export interface AdmittedUpdate {
  readonly u: SignedUpdate;
  readonly digest: string;
}
