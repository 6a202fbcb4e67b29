// The entry node's proof rule: an answer through a relay must carry the provider's signature
// over the try's nonce; an answer from the provider itself (our Noise session with it proves the
// sender) needs none, and a provider signs only what carries a nonce.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { ForgedAnswerError } from '../../../src/errors.ts';
import { Reputation } from '../../../src/routing/reputation.ts';
import type { RouteCandidate } from '../../../src/routing/types.ts';
import type { ForwardRequest, ForwardResult } from '../../../src/node/p2p/forward-codec.ts';
import { createTryGuard, needsProof } from '../../../src/node/verify/guard.ts';

const candidate = (origin: string, nextHop: string): RouteCandidate => ({
  origin, model: 'm', version: '1', nextHop, hops: origin === nextHop ? 1 : 2, pathLatencyMs: 1, computeMs: 1, queueWaitMs: 0, price: 0, provider: 'cpu', expectedMs: 3,
});

const request = (origin: string, nonce?: string): ForwardRequest => ({
  queryId: 'q1', ttl: 4, remainingMs: 1000, route: ['entry'], origin, model: 'm', outputs: [], parameters: {}, inputs: [], ...(nonce === undefined ? {} : { nonce }),
});

const answer = (by: string): ForwardResult => ({
  model: 'm', version: '1', id: 'q1', parameters: {}, hops: [{ peer: by, ms: 1 }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [1], data: Float32Array.from([0.5]) }],
});

describe('the try guard', () => {
  it('asks for a proof only through a relay, and a provider signs only what carries a nonce', async () => {
    const key = await generateKeyPair('Ed25519');
    const provider = peerIdFromPrivateKey(key).toString();
    const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    const direct = candidate(provider, provider);
    const relayed = candidate(provider, relay);
    expect(needsProof(direct)).toBe(false);
    expect(needsProof(relayed)).toBe(true);

    const providerGuard = createTryGuard({ self: provider, key, reputation: new Reputation(), table: { markDown: () => undefined } });
    const entry = createTryGuard({ self: 'entry', reputation: new Reputation(), table: { markDown: () => undefined } });
    // Direct: no nonce, so the provider does not sign, and the entry takes the answer as it is.
    const plain = await providerGuard.inbound(request(provider)).close(answer(provider));
    expect(plain.proof).toBeUndefined();
    await expect(entry.answered(direct, request(provider), plain, 1)).resolves.toBeUndefined();
    // Direct, but naming another provider: refused.
    await expect(entry.answered(direct, request(provider), answer(relay), 1)).rejects.toBeInstanceOf(ForgedAnswerError);
    // Through a relay: the nonce makes the provider sign, and only the signed answer passes.
    const fwd = request(provider, entry.nonce());
    const signed = await providerGuard.inbound(fwd).close(answer(provider));
    expect(signed.proof?.by).toBe(provider);
    await expect(entry.answered(relayed, fwd, signed, 1)).resolves.toBeUndefined();
    await expect(entry.answered(relayed, fwd, plain, 1)).rejects.toBeInstanceOf(ForgedAnswerError);
    // A relay that stripped the nonce gets an unsigned answer, which the entry refuses.
    await expect(entry.answered(relayed, fwd, await providerGuard.inbound(request(provider)).close(answer(provider)), 1)).rejects.toBeInstanceOf(ForgedAnswerError);
  });
});
