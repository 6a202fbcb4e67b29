// Who served a query is proven, not told (issue 9): the provider signs a digest of its answer
// (outputs, model, version) bound to the query id and the entry node's per-try nonce with its
// libp2p peer key; the entry node checks the signature against the provider it chose before
// it reports plexus.served_by. Relays pass the proof on unchanged and cannot forge it.
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { encodeRawTensor } from '../../wire/tensor.ts';
import type { Tensor } from '../../inference/types.ts';

/** A provider's signature over its answer. */
export interface AnswerProof {
  /** The signer's peer id (must be the provider the entry node chose). */
  readonly by: string;
  /** Ed25519 signature (base64) over answerDigest(...). */
  readonly sig: string;
}

export interface ProvenAnswer {
  readonly model: string;
  readonly version: string;
  readonly outputs: readonly Tensor[];
}

const DOMAIN = 'plexus-answer/1';

/** SHA-256 over a canonical encoding of the answer and what it answers. */
export function answerDigest(queryId: string, nonce: string, a: ProvenAnswer): Uint8Array {
  const h = createHash('sha256');
  const field = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.byteLength);
    h.update(len).update(b);
  };
  field(DOMAIN);
  field(queryId);
  field(nonce);
  field(a.model);
  field(a.version);
  field(String(a.outputs.length));
  for (const t of a.outputs) {
    field(t.name);
    field(t.datatype);
    field(t.shape.join(','));
    const bytes = encodeRawTensor(t);
    field(String(bytes.byteLength));
    h.update(bytes);
  }
  return new Uint8Array(h.digest());
}

// libp2p's Ed25519 keys rebuild an OpenSSL key from JWK on every sign and verify (profiled: as
// much CPU as the signature itself); here each key becomes a KeyObject once.
const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const signers = new WeakMap<PrivateKey, KeyObject | null>();
/** Public keys of recent providers, by peer id (null: not an Ed25519 key); bounded, oldest out first. */
const verifiers = new Map<string, KeyObject | null>();
const MAX_VERIFIERS = 4096;

function signerOf(key: PrivateKey): KeyObject | null {
  let k = signers.get(key);
  if (k === undefined) {
    // raw = 32-byte seed then the 32-byte public key.
    k = key.type === 'Ed25519' && key.raw.byteLength === 64
      ? createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(key.raw.subarray(0, 32)), x: b64url(key.raw.subarray(32)) }, format: 'jwk' })
      : null;
    signers.set(key, k);
  }
  return k;
}

function verifierOf(peer: string): KeyObject | null {
  const hit = verifiers.get(peer);
  if (hit !== undefined) return hit;
  const pub = peerIdFromString(peer).publicKey;
  const k = pub?.type === 'Ed25519' ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(pub.raw) }, format: 'jwk' }) : null;
  if (verifiers.size >= MAX_VERIFIERS) verifiers.delete(verifiers.keys().next().value as string);
  verifiers.set(peer, k);
  return k;
}

export async function signAnswer(key: PrivateKey, self: string, queryId: string, nonce: string, a: ProvenAnswer): Promise<AnswerProof> {
  const digest = answerDigest(queryId, nonce, a);
  const k = signerOf(key);
  const sig = k === null ? await key.sign(digest) : cryptoSign(null, digest, k);
  return { by: self, sig: Buffer.from(sig).toString('base64') };
}

/** Whether `proof` is `provider`'s valid signature over this answer. Never throws. */
export async function checkAnswer(provider: string, queryId: string, nonce: string, a: ProvenAnswer, proof: AnswerProof | undefined): Promise<boolean> {
  if (proof?.by !== provider) return false;
  try {
    const digest = answerDigest(queryId, nonce, a);
    const sig = Buffer.from(proof.sig, 'base64');
    const k = verifierOf(provider);
    if (k !== null) return cryptoVerify(null, digest, k, sig);
    const pub = peerIdFromString(provider).publicKey;
    return pub === undefined ? false : await pub.verify(digest, sig);
  } catch {
    return false;
  }
}
