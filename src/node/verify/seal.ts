// End-to-end sealing of a query's payload to its provider's key (issue 9, optional): relays
// forward ciphertext. The entry node derives an X25519 key from the provider's Ed25519 peer id
// (the birational map of RFC 7748 §4.1), agrees a secret with a fresh ephemeral key, and seals
// the inputs (names, shapes and bytes) with AES-256-GCM; the provider opens them with its own
// peer key and seals its outputs back with the same secret. Relays see the model name, the
// parameters and the sizes, not the tensors.
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { InvalidInputError, ProtocolError } from '../../errors.ts';
import { decodeRawTensor, encodeRawTensor, isDataType } from '../../wire/tensor.ts';
import type { Params, Tensor } from '../../inference/types.ts';
import { PARAM } from '../../wire/params.ts';

export const SEAL_PARAM = PARAM.seal;

/** The caller asked for its inputs and outputs to be sealed end to end: plexus.seal=true. InvalidInputError for a bad value. */
export function sealRequested(params: Params): boolean {
  const v = params[SEAL_PARAM];
  if (v === undefined || v === false || v === 'false' || v === 0) return false;
  if (v === true || v === 'true' || v === 1) return true;
  throw new InvalidInputError(`parameter ${SEAL_PARAM} must be true or false, got ${JSON.stringify(v).slice(0, 64)}`);
}

/** A sealed payload as it travels: the entry's ephemeral X25519 key (requests only), the GCM nonce, ciphertext + tag. */
export interface Sealed {
  readonly epk?: string;
  readonly iv: string;
  readonly bytes: Uint8Array;
}

const P = 2n ** 255n - 19n;
const INFO = Buffer.from('plexus-seal/1');

function leToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0);
  return n;
}

function bigToLe(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) { out[i] = Number(n & 255n); n >>= 8n; }
  return out;
}

function powMod(b: bigint, e: bigint): bigint {
  let r = 1n;
  b %= P;
  for (; e > 0n; e >>= 1n) {
    if ((e & 1n) === 1n) r = (r * b) % P;
    b = (b * b) % P;
  }
  return r;
}

/** Montgomery u = (1 + y) / (1 − y) of an Ed25519 public key (its Edwards y, sign bit dropped). */
export function x25519FromEd25519Public(pub: Uint8Array): Uint8Array {
  const y = leToBig(pub) & ((1n << 255n) - 1n);
  return bigToLe(((1n + y) * powMod((1n - y + P) % P, P - 2n)) % P);
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

function x25519Public(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(raw) }, format: 'jwk' });
}

/** Providers' X25519 keys by peer id (the conversion costs a 255-bit exponentiation): bounded, oldest dropped. */
const recipients = new Map<string, { readonly raw: Uint8Array; readonly key: KeyObject }>();
const MAX_RECIPIENTS = 1024;

function recipientOf(provider: string): { readonly raw: Uint8Array; readonly key: KeyObject } {
  let r = recipients.get(provider);
  if (r !== undefined) return r;
  const pub = peerIdFromString(provider).publicKey;
  if (pub?.type !== 'Ed25519') throw new ProtocolError(`cannot seal to ${provider}: not an Ed25519 peer id`);
  const raw = x25519FromEd25519Public(pub.raw);
  r = { raw, key: x25519Public(raw) };
  if (recipients.size >= MAX_RECIPIENTS) recipients.delete(recipients.keys().next().value ?? '');
  recipients.set(provider, r);
  return r;
}

/** This node's own X25519 key, derived once per peer key. */
const own = new WeakMap<PrivateKey, { readonly raw: Uint8Array; readonly key: KeyObject }>();

/** The X25519 private key of a libp2p Ed25519 key: SHA-512 of the seed, first half (X25519 clamps it). */
function x25519Private(key: PrivateKey): { readonly raw: Uint8Array; readonly key: KeyObject } {
  const cached = own.get(key);
  if (cached !== undefined) return cached;
  if (key.type !== 'Ed25519') throw new ProtocolError('sealed payloads need an Ed25519 peer key');
  const scalar = createHash('sha512').update(key.raw.subarray(0, 32)).digest().subarray(0, 32);
  const raw = x25519FromEd25519Public(key.publicKey.raw);
  const k = { raw, key: createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64u(scalar), x: b64u(raw) }, format: 'jwk' }) };
  own.set(key, k);
  return k;
}

function derive(shared: Buffer, epk: Uint8Array, recipient: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([epk, recipient]), INFO, 32));
}

function encrypt(key: Buffer, plain: Uint8Array): { iv: string; bytes: Uint8Array } {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const bytes = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  return { iv: iv.toString('base64'), bytes };
}

function decrypt(key: Buffer, s: Sealed): Uint8Array {
  const iv = Buffer.from(s.iv, 'base64');
  if (iv.byteLength !== 12 || s.bytes.byteLength < 16) throw new ProtocolError('sealed payload: bad nonce or too short');
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAuthTag(s.bytes.subarray(s.bytes.byteLength - 16));
  try {
    return Buffer.concat([d.update(s.bytes.subarray(0, s.bytes.byteLength - 16)), d.final()]);
  } catch {
    throw new ProtocolError('sealed payload cannot be opened (wrong key or altered on the way)');
  }
}

/** Tensors as one buffer: [u32 meta length][meta JSON][raw tensor bytes...]. */
export function packTensors(tensors: readonly Tensor[]): Uint8Array {
  const parts = tensors.map(encodeRawTensor);
  const meta = Buffer.from(JSON.stringify(tensors.map((t, i) => ({ n: t.name, d: t.datatype, s: [...t.shape], b: parts[i]?.byteLength ?? 0 }))));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(meta.byteLength);
  return Buffer.concat([head, meta, ...parts]);
}

export function unpackTensors(b: Uint8Array): Tensor[] {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const bad = (): never => { throw new ProtocolError('sealed payload: malformed tensors'); };
  if (buf.byteLength < 4) bad();
  const len = buf.readUInt32BE(0);
  if (4 + len > buf.byteLength) bad();
  let meta: unknown;
  try { meta = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')); } catch { bad(); }
  if (!Array.isArray(meta) || meta.length > 1024) bad();
  let off = 4 + len;
  const out = (meta as unknown[]).map((m) => {
    const x = m as { n?: unknown; d?: unknown; s?: unknown; b?: unknown };
    if (typeof x.n !== 'string' || typeof x.d !== 'string' || !isDataType(x.d) || !Array.isArray(x.s) || typeof x.b !== 'number' || off + x.b > buf.byteLength) bad();
    const t = decodeRawTensor(x.n as string, x.d as Parameters<typeof decodeRawTensor>[1], x.s as number[], new Uint8Array(buf.subarray(off, off + (x.b as number))));
    off += x.b as number;
    return t;
  });
  if (off !== buf.byteLength) bad();
  return out;
}

/** Entry node: seal `inputs` to `provider` (a peer id with an Ed25519 key). Returns the payload and the secret for the reply. */
export function sealTo(provider: string, inputs: readonly Tensor[]): { sealed: Sealed; secret: Buffer } {
  const recipient = recipientOf(provider);
  const eph = generateKeyPairSync('x25519');
  const epk = Buffer.from(eph.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const secret = derive(diffieHellman({ privateKey: eph.privateKey, publicKey: recipient.key }), epk, recipient.raw);
  return { sealed: { epk: epk.toString('base64'), ...encrypt(secret, packTensors(inputs)) }, secret };
}

/** Provider: open a sealed request with this node's peer key. Returns the inputs and the secret for the reply. */
export function openSealed(key: PrivateKey, sealed: Sealed): { inputs: Tensor[]; secret: Buffer } {
  if (sealed.epk === undefined) throw new ProtocolError('sealed request without an ephemeral key');
  const epk = Buffer.from(sealed.epk, 'base64');
  if (epk.byteLength !== 32) throw new ProtocolError('sealed request: ephemeral key must be 32 bytes');
  const mine = x25519Private(key);
  const secret = derive(diffieHellman({ privateKey: mine.key, publicKey: x25519Public(epk) }), epk, mine.raw);
  return { inputs: unpackTensors(decrypt(secret, sealed)), secret };
}

/** Either side: seal tensors with an agreed secret (the provider's outputs). */
export function sealWith(secret: Buffer, tensors: readonly Tensor[]): Sealed {
  return encrypt(secret, packTensors(tensors));
}

/** Either side: open tensors sealed with an agreed secret. */
export function openWith(secret: Buffer, sealed: Sealed): Tensor[] {
  return unpackTensors(decrypt(secret, sealed));
}
