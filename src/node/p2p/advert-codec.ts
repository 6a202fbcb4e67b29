// Wire form of route updates and the signatures on adverts. An advert is signed by its
// origin over a canonical encoding (fixed field order, JSON of arrays), so any relay can
// pass it on unchanged and every receiver can check it against the origin's peer id
// (an Ed25519 peer id embeds its public key).
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { ProtocolError } from '../../errors.ts';
import type { AdvertisedModel, AdvertisedSignature, AdvertisedTensor, ProviderAdvert, RouteUpdate } from '../../routing/types.ts';
import { EXECUTION_PROVIDERS } from '../../wire/types.ts';
import { isFiniteNumber, isRecord } from '../wire-guards.ts';

export const ROUTES_WIRE_VERSION = 1;
export const MAX_UPDATES_PER_FRAME = 4096;
export const MAX_MODELS_PER_ADVERT = 256;
export const MAX_ADDRS_PER_ORIGIN = 16;
const MAX_NAME = 256;
const MAX_TENSORS = 64;
const MAX_DIMS = 16;

/** An advert with its origin's signature. */
export interface SignedAdvert {
  readonly advert: ProviderAdvert;
  readonly sig: Uint8Array;
}

export interface WireUpdate {
  readonly signed: SignedAdvert;
  readonly metricMs: number;
  readonly hops: number;
  readonly retracted: boolean;
}

/** A seqno request (RFC 8966 §3.8.1): "send me a newer seq of origin", forwarded toward it. */
export interface WireSeqnoRequest {
  readonly origin: string;
  readonly seq: number;
  /** Hops it may still be forwarded. */
  readonly hopsLeft: number;
}

export interface RoutesFrame {
  readonly updates: readonly WireUpdate[];
  /** Dial hints: listen addresses of origins (unsigned; only used to dial in non-static mode). */
  readonly addrs: Readonly<Record<string, readonly string[]>>;
  /** Optional, so peers that predate it ignore it. */
  readonly requests?: readonly WireSeqnoRequest[];
}

export function canonicalAdvert(a: ProviderAdvert): Uint8Array {
  const models = a.models.map((m) => [
    m.name, m.version, [...m.capabilities], m.provider, m.price, m.computeMs, m.load, m.capacity,
    m.io === undefined ? null : [m.io.platform, m.io.inputs.map(canonicalTensor), m.io.outputs.map(canonicalTensor)],
    m.concurrency ?? null,
  ]);
  return new TextEncoder().encode(JSON.stringify(['plexus-advert-v1', a.origin, a.seq, a.issuedAt, models]));
}

function canonicalTensor(t: AdvertisedTensor): unknown[] {
  return [t.name, t.datatype, [...t.shape]];
}

export async function signAdvert(key: PrivateKey, advert: ProviderAdvert): Promise<SignedAdvert> {
  return { advert, sig: await key.sign(canonicalAdvert(advert)) };
}

/** True when `sig` is the origin's signature over the advert. Never throws. */
export async function verifyAdvert(s: SignedAdvert): Promise<boolean> {
  try {
    const pub = peerIdFromString(s.advert.origin).publicKey;
    if (pub === undefined) return false;
    return await pub.verify(canonicalAdvert(s.advert), s.sig);
  } catch {
    return false;
  }
}

/** One update as it appears in a frame's `u` list (JSON text). */
export function encodeWireUpdate(u: WireUpdate): string {
  return JSON.stringify({
    a: u.signed.advert,
    s: Buffer.from(u.signed.sig).toString('base64'),
    m: Number.isFinite(u.metricMs) ? u.metricMs : null,
    h: u.hops,
    r: u.retracted,
  });
}

export function encodeRoutesFrame(frame: RoutesFrame): Uint8Array {
  const q = frame.requests === undefined || frame.requests.length === 0 ? undefined : frame.requests.map((r) => ({ o: r.origin, s: r.seq, h: r.hopsLeft }));
  const head = `{"v":${ROUTES_WIRE_VERSION},"u":[${frame.updates.map(encodeWireUpdate).join(',')}],"addrs":${JSON.stringify(frame.addrs)}`;
  return new TextEncoder().encode(`${head}${q === undefined ? '' : `,"q":${JSON.stringify(q)}`}}`);
}

const isName = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= MAX_NAME;

function bad(what: string): never {
  throw new ProtocolError(`malformed routes frame: ${what}`);
}

function decodeTensors(x: unknown, what: string): AdvertisedTensor[] {
  if (!Array.isArray(x) || x.length > MAX_TENSORS) bad(`${what} must be a list of at most ${MAX_TENSORS} tensors`);
  return x.map((t: unknown, k: number): AdvertisedTensor => {
    if (!isRecord(t)) bad(`${what}[${k}] is not an object`);
    const { name, datatype, shape } = t;
    if (!isName(name) || typeof datatype !== 'string' || datatype.length === 0 || datatype.length > 16) bad(`${what}[${k}] needs a name and a datatype`);
    if (!Array.isArray(shape) || shape.length > MAX_DIMS || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= -1)) {
      bad(`${what}[${k}] shape must be at most ${MAX_DIMS} integers >= -1`);
    }
    return { name, datatype, shape: shape as number[] };
  });
}

function decodeSignature(x: unknown, i: number): AdvertisedSignature | undefined {
  if (x === undefined || x === null) return undefined;
  if (!isRecord(x)) bad(`model ${i} io is not an object`);
  if (!isName(x.platform)) bad(`model ${i} io.platform must be a name`);
  return { platform: x.platform, inputs: decodeTensors(x.inputs, `model ${i} io.inputs`), outputs: decodeTensors(x.outputs, `model ${i} io.outputs`) };
}

function decodeModel(x: unknown, i: number): AdvertisedModel {
  if (!isRecord(x)) bad(`model ${i} is not an object`);
  const { name, version, capabilities, provider, price, computeMs, load, capacity } = x;
  if (!isName(name)) bad(`model ${i} name must be a non-empty string`);
  if (typeof version !== 'string' || version.length > MAX_NAME) bad(`model ${i} version must be a string`);
  if (!Array.isArray(capabilities) || capabilities.length > 64 || !capabilities.every(isName)) bad(`model ${i} capabilities must be a list of names`);
  const known = EXECUTION_PROVIDERS.find((p) => p === provider);
  if (known === undefined) bad(`model ${i} provider must be one of ${EXECUTION_PROVIDERS.join('|')}`);
  if (!isFiniteNumber(price) || price < 0) bad(`model ${i} price must be a number >= 0`);
  if (!isFiniteNumber(computeMs) || computeMs < 0) bad(`model ${i} computeMs must be a number >= 0`);
  if (!isFiniteNumber(load) || load < 0) bad(`model ${i} load must be a number >= 0`);
  if (!isFiniteNumber(capacity) || capacity < 0) bad(`model ${i} capacity must be a number >= 0`);
  const io = decodeSignature(x.io, i);
  const { concurrency } = x;
  if (concurrency !== undefined && (!Number.isSafeInteger(concurrency) || (concurrency as number) < 1 || (concurrency as number) > 65_536)) {
    bad(`model ${i} concurrency must be an integer 1..65536`);
  }
  return { name, version, capabilities: capabilities, provider: known, price, computeMs, load, capacity, ...(io === undefined ? {} : { io }), ...(concurrency === undefined ? {} : { concurrency: concurrency as number }) };
}

function decodeAdvert(x: unknown): ProviderAdvert {
  if (!isRecord(x)) bad('advert is not an object');
  const { origin, seq, issuedAt, models } = x;
  if (!isName(origin)) bad('advert origin must be a peer id string');
  if (!isFiniteNumber(seq) || !Number.isSafeInteger(seq) || seq < 0) bad('advert seq must be a non-negative integer');
  if (!isFiniteNumber(issuedAt)) bad('advert issuedAt must be a number');
  if (!Array.isArray(models) || models.length > MAX_MODELS_PER_ADVERT) bad(`advert models must be a list of at most ${MAX_MODELS_PER_ADVERT}`);
  return { origin, seq, issuedAt, models: models.map(decodeModel) };
}

/** Parse and validate one frame (signatures are checked separately). Throws ProtocolError. */
export function decodeRoutesFrame(bytes: Uint8Array): RoutesFrame {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    bad('not UTF-8 JSON');
  }
  if (!isRecord(raw)) bad('top level is not an object');
  // (JSON text, not String(): a peer's {"toString": 1} makes String() throw a TypeError.)
  if (raw.v !== ROUTES_WIRE_VERSION) throw new ProtocolError(`routes frame version ${JSON.stringify(raw.v)?.slice(0, 32) ?? 'none'} is not supported (expected ${ROUTES_WIRE_VERSION})`);
  if (!Array.isArray(raw.u) || raw.u.length > MAX_UPDATES_PER_FRAME) bad(`u must be a list of at most ${MAX_UPDATES_PER_FRAME} updates`);
  const updates = raw.u.map((x: unknown, i: number): WireUpdate => {
    if (!isRecord(x)) bad(`update ${i} is not an object`);
    const advert = decodeAdvert(x.a);
    if (typeof x.s !== 'string' || x.s.length > 200) bad(`update ${i} signature must be base64`);
    const sig = Buffer.from(x.s, 'base64');
    const metricMs = x.m === null ? Infinity : x.m;
    if (typeof metricMs !== 'number' || Number.isNaN(metricMs) || metricMs < 0) bad(`update ${i} metric must be a number >= 0 or null`);
    if (!isFiniteNumber(x.h) || !Number.isInteger(x.h) || x.h < 0 || x.h > 255) bad(`update ${i} hops must be an integer 0..255`);
    if (typeof x.r !== 'boolean') bad(`update ${i} retracted must be a boolean`);
    return { signed: { advert, sig: new Uint8Array(sig) }, metricMs, hops: x.h, retracted: x.r };
  });
  // No prototype: a peer's '__proto__' key is then just a (useless) origin, not the object's prototype.
  const addrs = Object.create(null) as Record<string, string[]>;
  if (raw.addrs !== undefined) {
    if (!isRecord(raw.addrs)) bad('addrs must be an object');
    for (const [k, v] of Object.entries(raw.addrs).slice(0, MAX_UPDATES_PER_FRAME)) {
      if (Array.isArray(v)) addrs[k] = v.filter((a): a is string => typeof a === 'string' && a.length < 512).slice(0, MAX_ADDRS_PER_ORIGIN);
    }
  }
  const requests: WireSeqnoRequest[] = [];
  if (raw.q !== undefined) {
    if (!Array.isArray(raw.q) || raw.q.length > MAX_UPDATES_PER_FRAME) bad(`q must be a list of at most ${MAX_UPDATES_PER_FRAME} seqno requests`);
    raw.q.forEach((x: unknown, i: number) => {
      if (!isRecord(x) || !isName(x.o) || !isFiniteNumber(x.s) || !Number.isSafeInteger(x.s) || x.s < 0 || !isFiniteNumber(x.h) || !Number.isInteger(x.h) || x.h < 0 || x.h > 255) {
        bad(`seqno request ${i} must be {o: origin, s: seq >= 0, h: 0..255}`);
      }
      requests.push({ origin: x.o, seq: x.s, hopsLeft: x.h });
    });
  }
  return { updates, addrs, ...(requests.length > 0 ? { requests } : {}) };
}

export function toRouteUpdate(u: WireUpdate): RouteUpdate {
  return { advert: u.signed.advert, metricMs: u.metricMs, hops: u.hops, retracted: u.retracted };
}
