// Answer proofs with real Ed25519 peer keys, and the output comparison the cross-check uses.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { corruptTensor } from '../../../src/inference/fault.ts';
import type { Tensor } from '../../../src/inference/types.ts';
import { compareOutputs, toleranceFor } from '../../../src/node/verify/compare.ts';
import { answerDigest, checkAnswer, signAnswer } from '../../../src/node/verify/proof.ts';

const segments = (...xs: number[]): Tensor => ({ name: 'segments', datatype: 'FP32', shape: [xs.length / 2, 2], data: Float32Array.from(xs) });
const answer = (t: Tensor): { model: string; version: string; outputs: Tensor[] } => ({ model: 'silero-vad-segments', version: '1', outputs: [t] });

describe('answer proofs', () => {
  it('a provider signature checks against its own peer id only, for this query, nonce and outputs', async () => {
    const key = await generateKeyPair('Ed25519');
    const id = peerIdFromPrivateKey(key).toString();
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    const a = answer(segments(0.96, 2.05));
    const proof = await signAnswer(key, id, 'q1', 'n1', a);
    expect(await checkAnswer(id, 'q1', 'n1', a, proof)).toBe(true);
    expect(await checkAnswer(other, 'q1', 'n1', a, { ...proof, by: other })).toBe(false);
    expect(await checkAnswer(other, 'q1', 'n1', a, proof)).toBe(false);
    expect(await checkAnswer(id, 'q2', 'n1', a, proof)).toBe(false);
    expect(await checkAnswer(id, 'q1', 'n2', a, proof)).toBe(false);
    expect(await checkAnswer(id, 'q1', 'n1', answer(segments(0.96, 2.06)), proof)).toBe(false);
    expect(await checkAnswer(id, 'q1', 'n1', a, undefined)).toBe(false);
    expect(await checkAnswer(id, 'q1', 'n1', a, { by: id, sig: 'not base64 at all' })).toBe(false);
    expect(await checkAnswer('not-a-peer-id', 'q1', 'n1', a, { by: 'not-a-peer-id', sig: proof.sig })).toBe(false);
  });

  it('signs and checks as libp2p\'s own Ed25519 keys do (the cached OpenSSL keys are the same keys)', async () => {
    const key = await generateKeyPair('Ed25519');
    const id = peerIdFromPrivateKey(key).toString();
    const a = answer(segments(0.5, 1.5));
    const digest = answerDigest('q', 'n', a);
    // Ours, checked by libp2p; libp2p's, checked by ours; twice each, so the cached keys are used.
    for (let i = 0; i < 2; i++) {
      const ours = await signAnswer(key, id, 'q', 'n', a);
      expect(await key.publicKey.verify(digest, Buffer.from(ours.sig, 'base64'))).toBe(true);
      const theirs = { by: id, sig: Buffer.from(await key.sign(digest)).toString('base64') };
      expect(await checkAnswer(id, 'q', 'n', a, theirs)).toBe(true);
      expect(await checkAnswer(id, 'q', 'n', answer(segments(0.5, 1.6)), theirs)).toBe(false);
    }
  });
});

describe('compareOutputs', () => {
  it('speech.vad segments agree within 5 ms, not beyond', () => {
    const tol = toleranceFor({}, 'silero-vad-segments', 'speech.vad');
    expect(tol).toBe(0.005);
    expect(compareOutputs([segments(0.962, 2.046)], [segments(0.964, 2.046)], tol).same).toBe(true);
    const c = compareOutputs([segments(0.962, 2.046)], [segments(0.994, 2.046)], tol);
    expect(c.same).toBe(false);
    expect(c.same ? '' : c.why).toMatch(/segments'\[0\]/);
    expect(compareOutputs([segments(0.962, 2.046)], [segments(0.962, 2.046, 3, 4)], tol).same).toBe(false);
  });

  it('integers and bytes compare exactly; a corrupted answer never matches', () => {
    const ints: Tensor = { name: 'ids', datatype: 'INT64', shape: [2], data: new BigInt64Array([1n, 2n]) };
    const bytes: Tensor = { name: 'txt', datatype: 'BYTES', shape: [1], data: [new TextEncoder().encode('hello')] };
    const probs: Tensor = { name: 'output', datatype: 'FP32', shape: [1, 1], data: Float32Array.from([0.0442]) };
    for (const t of [ints, bytes, probs]) {
      expect(compareOutputs([t], [t]).same).toBe(true);
      expect(compareOutputs([t], [corruptTensor(t)]).same).toBe(false);
    }
    expect(compareOutputs([probs], [{ ...probs, data: Float32Array.from([0.04425]) }]).same).toBe(true);
    expect(compareOutputs([probs], [{ ...probs, name: 'other' }]).same).toBe(false);
    expect(toleranceFor({ 'my-model': 0.5 }, 'my-model')).toBe(0.5);
  });
});
