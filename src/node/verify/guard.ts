// The entry node's checks around one route try (issue 9), kept out of the dispatcher:
//  - every try through a relay carries a fresh nonce; the answer must come with the chosen
//    provider's signature over it (src/node/verify/proof.ts), else the try fails as the next
//    hop's fault. A try sent to the provider itself needs neither: its answer arrives on our
//    Noise session with that very peer, which already proves who sent it (and a provider signs
//    only what carries a nonce, so a relay that strips one gets an answer we refuse);
//  - a provider's measured answer time is recorded (src/routing/reputation.ts ranks by it);
//  - a try that ends without an answer after the peer's expected time (our timer, the caller's
//    deadline or cancel, a hedge) is a fault of the peer holding it: a doubling back-off.
import { randomBytes } from 'node:crypto';
import type { PrivateKey } from '@libp2p/interface';
import { ForgedAnswerError, PeerUnavailableError } from '../../errors.ts';
import type { Reputation } from '../../routing/reputation.ts';
import type { RouteCandidate, RoutingTableApi, Suspect } from '../../routing/types.ts';
import type { ForwardRequest, ForwardResult } from '../p2p/forward-frame.ts';
import { checkAnswer, signAnswer } from './proof.ts';
import { openSealed, openWith, sealRequested, sealTo, sealWith } from './seal.ts';

export interface TryGuard {
  /** A nonce for one try through a relay (see needsProof). */
  nonce(): string;
  /** Sign our own answer to a forwarded query (we are its provider). */
  sign(req: ForwardRequest, res: ForwardResult): Promise<ForwardResult>;
  /** Entry: seal the try's inputs to its provider when the caller asked (plexus.seal); `open` reads the sealed answer. */
  outbound(cand: RouteCandidate, fwd: ForwardRequest): { fwd: ForwardRequest; open(res: ForwardResult): ForwardResult };
  /** Provider: open a sealed query; `close` signs the answer and seals it back when the query was sealed. */
  inbound(req: ForwardRequest): { req: ForwardRequest; close(res: ForwardResult): Promise<ForwardResult> };
  /** A remote answer arrived for `cand`: check its proof (throws ForgedAnswerError) and record its time. */
  answered(cand: RouteCandidate, fwd: ForwardRequest, res: ForwardResult, ms: number): Promise<void>;
  /**
   * A try on `cand` ended without an answer after `elapsedMs`. When the peer holding it was past
   * its expected time, it is demoted with a doubling back-off; returns whether it was blamed.
   */
  unanswered(cand: RouteCandidate, suspect: string, elapsedMs: number): boolean;
}

export interface TryGuardInit {
  readonly self: string;
  readonly key?: PrivateKey;
  readonly reputation: Reputation;
  readonly table: Pick<RoutingTableApi, 'markDown'> & { reconsider?(origin: string, now: number): boolean };
}

export function createTryGuard(init: TryGuardInit): TryGuard {
  const { self, key, reputation, table } = init;
  const sign = async (req: ForwardRequest, res: ForwardResult): Promise<ForwardResult> =>
    (key === undefined || req.nonce === undefined ? res : { ...res, proof: await signAnswer(key, self, req.queryId, req.nonce, res) });
  return {
    nonce: () => randomBytes(12).toString('base64'),
    sign,
    outbound(cand, fwd) {
      if (!sealRequested(fwd.parameters)) return { fwd, open: (res) => res };
      const { sealed, secret } = sealTo(cand.origin, fwd.inputs);
      return {
        fwd: { ...fwd, inputs: [], sealed },
        open(res) {
          if (res.sealed === undefined) throw new ForgedAnswerError(`query ${fwd.queryId}: the answer relayed by ${cand.nextHop} is not sealed as asked (plexus.seal)`);
          try {
            return { ...res, outputs: openWith(secret, res.sealed) };
          } catch (e) {
            throw new ForgedAnswerError(`query ${fwd.queryId}: the sealed answer relayed by ${cand.nextHop} cannot be opened: ${(e as Error).message}`);
          }
        },
      };
    },
    inbound(req) {
      if (req.sealed === undefined || key === undefined) return { req, close: (res) => sign(req, res) };
      const { inputs, secret } = openSealed(key, req.sealed);
      const opened: ForwardRequest = { ...req, inputs };
      return {
        req: opened,
        async close(res) {
          const signed = await sign(opened, res);
          return { ...signed, outputs: [], sealed: sealWith(secret, signed.outputs) };
        },
      };
    },
    async answered(cand, fwd, res, ms) {
      const last = res.hops[res.hops.length - 1]?.peer;
      const valid = last === cand.origin && (!needsProof(cand) || await checkAnswer(cand.origin, fwd.queryId, fwd.nonce ?? '', res, res.proof));
      if (!valid) {
        // The next hop handed us an answer the provider did not sign: blame it (it may be the provider).
        reputation.fault(cand.nextHop, Date.now());
        table.markDown(cand.nextHop, reputation.demotedUntil(cand.nextHop));
        throw new ForgedAnswerError(`query ${fwd.queryId}: the answer relayed by ${cand.nextHop} claims provider ${last ?? '?'} but carries no valid signature of ${cand.origin}; rejected`);
      }
      const now = Date.now();
      reputation.answered(cand.origin, cand.model, ms, now);
      // Through a relay: what the path measured floors the relay's advertised metric.
      if (reputation.relayed(cand, ms, now)) table.reconsider?.(cand.origin, now);
    },
    unanswered(cand, suspect, elapsedMs) {
      if (suspect === self || !reputation.overdue(cand, elapsedMs)) return false;
      const until = reputation.fault(suspect, Date.now());
      table.markDown(suspect, until);
      return true;
    },
  };
}

/** Whether an answer on this route must carry the provider's signature: it comes through a relay. */
export function needsProof(cand: RouteCandidate): boolean {
  return cand.nextHop !== cand.origin;
}

/**
 * The peer to blame for a failed try: our next hop, as a peer, when the link failed or it
 * relayed a forgery; else the provider, as a provider only (it may still relay for others).
 */
export function suspectOf(e: unknown, cand: RouteCandidate, self: string): Suspect {
  return (e instanceof PeerUnavailableError || e instanceof ForgedAnswerError) && cand.origin !== self
    ? { peer: cand.nextHop, role: 'peer' }
    : { peer: cand.origin, role: 'provider' };
}
