// Who served a query is proven, not told (issue 9): the provider signs a digest of its answer
// (outputs, model, version) bound to the query id and the entry node's per-try nonce with its
// libp2p peer key; the entry node checks the signature against the provider it chose before
// it reports plexus.served_by. Relays pass the proof on unchanged and cannot forge it.
import { createHash } from 'node:crypto';
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

export async function signAnswer(key: PrivateKey, self: string, queryId: string, nonce: string, a: ProvenAnswer): Promise<AnswerProof> {
  const sig = await key.sign(answerDigest(queryId, nonce, a));
  return { by: self, sig: Buffer.from(sig).toString('base64') };
}

/** Whether `proof` is `provider`'s valid signature over this answer. Never throws. */
export async function checkAnswer(provider: string, queryId: string, nonce: string, a: ProvenAnswer, proof: AnswerProof | undefined): Promise<boolean> {
  if (proof?.by !== provider) return false;
  try {
    const pub = peerIdFromString(provider).publicKey;
    if (pub === undefined) return false;
    return await pub.verify(answerDigest(queryId, nonce, a), Buffer.from(proof.sig, 'base64'));
  } catch {
    return false;
  }
}
