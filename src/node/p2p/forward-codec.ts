// Binary frames of /plexus/forward/1.0.0. Layout: [u8 type][u32 corr][u32 headerLen]
// [header JSON][tensor bytes ...]. Tensor bytes are the KServe raw form (src/wire/tensor.ts):
// encoded as views over the caller's buffers (framing.ts decides whether to coalesce them),
// decoded as views over the frame when aligned.
import { ERROR_KINDS, ProtocolError } from '../../errors.ts';
import type { ErrorKind } from '../../errors.ts';
import { decodeRawTensor, encodeRawTensor, isDataType } from '../../wire/tensor.ts';
import type { Params, ParamValue, Tensor } from '../../inference/types.ts';
import type { TraceSpan } from '../../trace.ts';
import type { AnswerProof } from '../verify/proof.ts';
import type { Sealed } from '../verify/seal.ts';
import { isFiniteNumber, isRecord } from '../wire-guards.ts';

export const FRAME_REQUEST = 1;
export const FRAME_RESULT = 2;
export const FRAME_ERROR = 3;
export const FRAME_CANCEL = 4;
const MAX_HEADER = 1024 * 1024;
const MAX_TENSORS = 1024;
const MAX_ROUTE = 64;
const UTF8 = new TextEncoder();
/** Fatal: a header that is not UTF-8 is a bad frame. Stateless between calls (no `stream` option), so one serves every frame. */
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });

export interface HopTiming { readonly peer: string; readonly ms: number }

/** A query travelling toward `origin`, which the entry node chose; each hop picks its own next hop to it. */
export interface ForwardRequest {
  readonly queryId: string;
  readonly ttl: number;
  readonly remainingMs: number;
  /** Peers the query went through so far, entry node first. */
  readonly route: readonly string[];
  readonly origin: string;
  readonly model: string;
  readonly version?: string;
  readonly outputs: readonly string[];
  readonly parameters: Params;
  readonly inputs: readonly Tensor[];
  /** W3C traceparent of the sender's forward span (header `tp`); absent when the sender does not trace. */
  readonly traceparent?: string;
  /** This node's span of the query (local only, never encoded); absent when tracing is off. */
  readonly trace?: TraceSpan;
  /** The entry node's authenticated tenant (optional `tn`), for accounting on every hop. */
  readonly tenant?: string;
  /** The entry node's per-try nonce, which the provider's answer proof is bound to. */
  readonly nonce?: string;
  /** Inputs sealed to the provider's key (src/node/verify/seal.ts); `inputs` is then empty. */
  readonly sealed?: Sealed;
}

export interface ForwardResult {
  readonly model: string;
  readonly version: string;
  readonly id: string;
  readonly parameters: Params;
  readonly outputs: readonly Tensor[];
  /** Each downstream node and its time holding the query, nearest first; the last one served it. */
  readonly hops: readonly HopTiming[];
  /** The provider's signature over the answer (src/node/verify/proof.ts); relays pass it unchanged. */
  readonly proof?: AnswerProof;
  /** Outputs sealed to the entry node (when the request was sealed); `outputs` is then empty. */
  readonly sealed?: Sealed;
}

export interface ForwardError { readonly kind: ErrorKind; readonly message: string; readonly hops: readonly HopTiming[] }

export type DecodedFrame =
  | { type: typeof FRAME_REQUEST; corr: number; body: ForwardRequest }
  | { type: typeof FRAME_RESULT; corr: number; body: ForwardResult }
  | { type: typeof FRAME_ERROR; corr: number; body: ForwardError }
  | { type: typeof FRAME_CANCEL; corr: number };

interface TensorMeta { n: string; d: string; s: number[]; b: number }

function tensorParts(tensors: readonly Tensor[]): { meta: TensorMeta[]; parts: Uint8Array[] } {
  const parts = tensors.map(encodeRawTensor);
  const meta = tensors.map((t, i) => ({ n: t.name, d: t.datatype, s: [...t.shape], b: parts[i]?.byteLength ?? 0 }));
  return { meta, parts };
}

function frame(type: number, corr: number, header: unknown, parts: readonly Uint8Array[] = []): Uint8Array[] {
  const h = UTF8.encode(JSON.stringify(header));
  const head = new Uint8Array(9);
  const v = new DataView(head.buffer);
  v.setUint8(0, type);
  v.setUint32(1, corr, false);
  v.setUint32(5, h.byteLength, false);
  return [head, h, ...parts];
}

/** Tensors, or a sealed payload in their place (its header part `sl` and its bytes). */
function payloadParts(tensors: readonly Tensor[], sealed: Sealed | undefined): { t: TensorMeta[]; sl?: { k?: string; iv: string }; parts: Uint8Array[] } {
  if (sealed === undefined) { const { meta, parts } = tensorParts(tensors); return { t: meta, parts }; }
  return { t: [], sl: { ...(sealed.epk === undefined ? {} : { k: sealed.epk }), iv: sealed.iv }, parts: [sealed.bytes] };
}

export function encodeRequest(corr: number, r: ForwardRequest): Uint8Array[] {
  const { t, sl, parts } = payloadParts(r.inputs, r.sealed);
  const header = { q: r.queryId, ttl: r.ttl, rem: r.remainingMs, route: r.route, o: r.origin, m: r.model, v: r.version, out: r.outputs, p: r.parameters, t, n: r.nonce, sl, tp: r.traceparent, ...(r.tenant === undefined ? {} : { tn: r.tenant }) };
  return frame(FRAME_REQUEST, corr, header, parts);
}

export function encodeResult(corr: number, r: ForwardResult): Uint8Array[] {
  const { t, sl, parts } = payloadParts(r.outputs, r.sealed);
  return frame(FRAME_RESULT, corr, { m: r.model, v: r.version, id: r.id, p: r.parameters, hops: r.hops, t, pf: r.proof, sl }, parts);
}

export function encodeError(corr: number, e: ForwardError): Uint8Array[] {
  return frame(FRAME_ERROR, corr, { k: e.kind, msg: e.message.slice(0, 4096), hops: e.hops });
}

export function encodeCancel(corr: number): Uint8Array[] {
  return frame(FRAME_CANCEL, corr, {});
}

const isStr = (x: unknown, max = 1024): x is string => typeof x === 'string' && x.length <= max;

function bad(what: string): never {
  throw new ProtocolError(`malformed forward frame: ${what}`);
}

function decodeParams(x: unknown): Params {
  if (x === undefined) return {};
  if (!isRecord(x)) bad('parameters must be an object');
  const out: Record<string, ParamValue> = {};
  const entries = Object.entries(x);
  if (entries.length > 256) bad('more than 256 parameters');
  for (const [k, v] of entries) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') bad(`parameter '${k.slice(0, 64)}' must be a string, number or boolean`);
    out[k] = v;
  }
  return out;
}

function decodeHops(x: unknown): HopTiming[] {
  if (!Array.isArray(x) || x.length > MAX_ROUTE) bad('hops must be a short list');
  return x.map((h) => {
    if (!isRecord(h) || !isStr(h.peer, 128) || !isFiniteNumber(h.ms)) bad('hop timing must be {peer, ms}');
    return { peer: h.peer, ms: h.ms };
  });
}

/** A sealed payload: the whole frame payload is ciphertext (no tensors to decode here). */
function decodeSealed(x: unknown, payload: Uint8Array): { sealed?: Sealed } {
  if (x === undefined) return {};
  if (!isRecord(x) || !isStr(x.iv, 64) || (x.k !== undefined && !isStr(x.k, 64))) bad('sealed payload header must be {k?, iv}');
  return { sealed: { ...(x.k === undefined ? {} : { epk: x.k }), iv: x.iv, bytes: payload.slice() } };
}

function decodeProof(x: unknown): { proof?: AnswerProof } {
  if (x === undefined) return {};
  if (!isRecord(x) || !isStr(x.by, 128) || !isStr(x.sig, 512)) bad('proof must be {by, sig}');
  return { proof: { by: x.by, sig: x.sig } };
}

function decodeTensors(x: unknown, payload: Uint8Array): Tensor[] {
  if (!Array.isArray(x) || x.length > MAX_TENSORS) bad(`tensors must be a list of at most ${MAX_TENSORS}`);
  let off = 0;
  const out = x.map((m: unknown) => {
    if (!isRecord(m) || !isStr(m.n) || !isStr(m.d, 16) || !isDataType(m.d) || !Array.isArray(m.s) || !m.s.every(isFiniteNumber) || !isFiniteNumber(m.b) || m.b < 0) {
      bad('tensor metadata must be {n, d, s, b}');
    }
    if (off + m.b > payload.byteLength) bad(`tensor '${m.n}' needs ${m.b} bytes but only ${payload.byteLength - off} remain`);
    const t = decodeRawTensor(m.n, m.d, m.s, payload.subarray(off, off + m.b));
    off += m.b;
    return t;
  });
  if (off !== payload.byteLength) bad(`${payload.byteLength - off} trailing bytes after the tensors`);
  return out;
}

/** Decode one frame. Throws ProtocolError (or InvalidInputError for a bad tensor) on anything malformed. */
export function decodeFrame(bytes: Uint8Array): DecodedFrame {
  if (bytes.byteLength < 9) bad(`frame of ${bytes.byteLength} bytes is shorter than its 9-byte header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = v.getUint8(0);
  const corr = v.getUint32(1, false);
  const hlen = v.getUint32(5, false);
  if (hlen > MAX_HEADER || 9 + hlen > bytes.byteLength) bad(`header length ${hlen} does not fit the frame`);
  let h: unknown;
  try {
    h = JSON.parse(UTF8_STRICT.decode(bytes.subarray(9, 9 + hlen)));
  } catch {
    bad('header is not UTF-8 JSON');
  }
  if (!isRecord(h)) bad('header is not an object');
  const payload = bytes.subarray(9 + hlen);
  switch (type) {
    case FRAME_REQUEST: {
      if (!isStr(h.q) || !isFiniteNumber(h.ttl) || !isFiniteNumber(h.rem) || !isStr(h.o, 128) || !isStr(h.m)) bad('request needs q, ttl, rem, o, m');
      if (!Array.isArray(h.route) || h.route.length > MAX_ROUTE || !h.route.every((p) => isStr(p, 128))) bad('route must be a list of peer ids');
      if (h.v !== undefined && !isStr(h.v)) bad('version must be a string');
      if (h.tn !== undefined && !isStr(h.tn, 64)) bad('tenant must be a short string');
      if (!Array.isArray(h.out) || h.out.length > MAX_TENSORS || !h.out.every((o) => isStr(o))) bad('outputs must be a list of names');
      if (h.n !== undefined && !isStr(h.n, 128)) bad('nonce must be a short string');
      return {
        type, corr,
        body: {
          queryId: h.q, ttl: h.ttl, remainingMs: h.rem, route: h.route, origin: h.o, model: h.m,
          ...(h.v === undefined ? {} : { version: h.v }), ...(h.tn === undefined ? {} : { tenant: h.tn }), outputs: h.out, parameters: decodeParams(h.p), inputs: h.sl === undefined ? decodeTensors(h.t, payload) : [],
          ...(h.n === undefined ? {} : { nonce: h.n }), ...decodeSealed(h.sl, payload),
          // Trace context is advisory: a malformed one is ignored (W3C), never a bad frame.
          ...(isStr(h.tp, 512) ? { traceparent: h.tp } : {}),
        },
      };
    }
    case FRAME_RESULT:
      if (!isStr(h.m) || !isStr(h.v) || !isStr(h.id)) bad('result needs m, v, id');
      return {
        type, corr,
        body: { model: h.m, version: h.v, id: h.id, parameters: decodeParams(h.p), outputs: h.sl === undefined ? decodeTensors(h.t, payload) : [], hops: decodeHops(h.hops),
          ...decodeProof(h.pf), ...decodeSealed(h.sl, payload),
        },
      };
    case FRAME_ERROR: {
      const kind = (ERROR_KINDS as readonly unknown[]).includes(h.k) ? h.k as ErrorKind : 'internal';
      return { type, corr, body: { kind, message: isStr(h.msg, 8192) ? h.msg : 'remote error', hops: decodeHops(h.hops) } };
    }
    case FRAME_CANCEL:
      return { type, corr };
    default:
      return bad(`unknown frame type ${type}`);
  }
}
