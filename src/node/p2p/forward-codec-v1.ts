// /plexus/forward/1.0.0, the version before 2.0.0 (forward-codec.ts), still spoken to and by
// nodes that have not moved to 2.0.0: the same frames (forward-frame.ts) with a JSON header.
import { encodeRawTensor } from '../../wire/tensor.ts';
import type { Params, ParamValue, Tensor } from '../../inference/types.ts';
import type { AnswerProof } from '../verify/proof.ts';
import type { Sealed } from '../verify/seal.ts';
import { isFiniteNumber, isRecord } from '../wire-guards.ts';
import {
  bad, errorKindOf, FRAME_CANCEL, FRAME_ERROR, FRAME_HEAD_BYTES, FRAME_REQUEST, FRAME_RESULT, MAX_CHARS, MAX_PARAMS, MAX_ROUTE, MAX_SENT_MESSAGE, MAX_TENSORS,
  PayloadReader, splitFrame, writeFrameHead,
  type DecodedFrame, type ForwardCodec, type ForwardRequest, type ForwardResult, type HopTiming,
} from './forward-frame.ts';

const UTF8 = new TextEncoder();
/** Fatal: a header that is not UTF-8 is a bad frame. Stateless between calls (no `stream` option), so one serves every frame. */
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });

interface TensorMeta { n: string; d: string; s: number[]; b: number }

function tensorParts(tensors: readonly Tensor[]): { meta: TensorMeta[]; parts: Uint8Array[] } {
  const parts = tensors.map(encodeRawTensor);
  const meta = tensors.map((t, i) => ({ n: t.name, d: t.datatype, s: [...t.shape], b: parts[i]?.byteLength ?? 0 }));
  return { meta, parts };
}

function frame(type: number, corr: number, header: unknown, parts: readonly Uint8Array[] = []): Uint8Array[] {
  const h = UTF8.encode(JSON.stringify(header));
  const head = new Uint8Array(FRAME_HEAD_BYTES);
  writeFrameHead(new DataView(head.buffer), type, corr, h.byteLength);
  return [head, h, ...parts];
}

/** Tensors, or a sealed payload in their place (its header part `sl` and its bytes). */
function payloadParts(tensors: readonly Tensor[], sealed: Sealed | undefined): { t: TensorMeta[]; sl?: { k?: string; iv: string }; parts: Uint8Array[] } {
  if (sealed === undefined) { const { meta, parts } = tensorParts(tensors); return { t: meta, parts }; }
  return { t: [], sl: { ...(sealed.epk === undefined ? {} : { k: sealed.epk }), iv: sealed.iv }, parts: [sealed.bytes] };
}

function encodeRequest(corr: number, r: ForwardRequest): Uint8Array[] {
  const { t, sl, parts } = payloadParts(r.inputs, r.sealed);
  const header = { q: r.queryId, ttl: r.ttl, rem: r.remainingMs, route: r.route, o: r.origin, m: r.model, v: r.version, out: r.outputs, p: r.parameters, t, n: r.nonce, sl, tp: r.traceparent, ...(r.tenant === undefined ? {} : { tn: r.tenant }) };
  return frame(FRAME_REQUEST, corr, header, parts);
}

function encodeResult(corr: number, r: ForwardResult): Uint8Array[] {
  const { t, sl, parts } = payloadParts(r.outputs, r.sealed);
  return frame(FRAME_RESULT, corr, { m: r.model, v: r.version, id: r.id, p: r.parameters, hops: r.hops, t, pf: r.proof, sl }, parts);
}

const isStr = (x: unknown, max: number = MAX_CHARS.name): x is string => typeof x === 'string' && x.length <= max;

function decodeParams(x: unknown): Params {
  if (x === undefined) return {};
  if (!isRecord(x)) bad('parameters must be an object');
  const out: Record<string, ParamValue> = {};
  const entries = Object.entries(x);
  if (entries.length > MAX_PARAMS) bad(`more than ${MAX_PARAMS} parameters`);
  for (const [k, v] of entries) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') bad(`parameter '${k.slice(0, 64)}' must be a string, number or boolean`);
    out[k] = v;
  }
  return out;
}

function decodeHops(x: unknown): HopTiming[] {
  if (!Array.isArray(x) || x.length > MAX_ROUTE) bad('hops must be a short list');
  return x.map((h) => {
    if (!isRecord(h) || !isStr(h.peer, MAX_CHARS.peer) || !isFiniteNumber(h.ms)) bad('hop timing must be {peer, ms}');
    return { peer: h.peer, ms: h.ms };
  });
}

/** A sealed payload: the whole frame payload is ciphertext (no tensors to decode here). */
function decodeSealed(x: unknown, payload: Uint8Array): { sealed?: Sealed } {
  if (x === undefined) return {};
  if (!isRecord(x) || !isStr(x.iv, MAX_CHARS.iv) || (x.k !== undefined && !isStr(x.k, MAX_CHARS.sealKey))) bad('sealed payload header must be {k?, iv}');
  return { sealed: { ...(x.k === undefined ? {} : { epk: x.k }), iv: x.iv, bytes: payload.slice() } };
}

function decodeProof(x: unknown): { proof?: AnswerProof } {
  if (x === undefined) return {};
  if (!isRecord(x) || !isStr(x.by, MAX_CHARS.peer) || !isStr(x.sig, MAX_CHARS.sig)) bad('proof must be {by, sig}');
  return { proof: { by: x.by, sig: x.sig } };
}

function decodeTensors(x: unknown, payload: Uint8Array): Tensor[] {
  if (!Array.isArray(x) || x.length > MAX_TENSORS) bad(`tensors must be a list of at most ${MAX_TENSORS}`);
  const reader = new PayloadReader(payload, 1);
  const out = x.map((m: unknown) => {
    if (!isRecord(m) || !isStr(m.n) || !isStr(m.d, MAX_CHARS.datatype) || !Array.isArray(m.s) || !m.s.every(isFiniteNumber) || !isFiniteNumber(m.b) || m.b < 0) {
      bad('tensor metadata must be {n, d, s, b}');
    }
    return reader.take(m.n, m.d, m.s, m.b);
  });
  reader.end();
  return out;
}

function decodeRequest(h: Record<string, unknown>, payload: Uint8Array): ForwardRequest {
  if (!isStr(h.q) || !isFiniteNumber(h.ttl) || !isFiniteNumber(h.rem) || !isStr(h.o, MAX_CHARS.peer) || !isStr(h.m)) bad('request needs q, ttl, rem, o, m');
  if (!Array.isArray(h.route) || h.route.length > MAX_ROUTE || !h.route.every((p) => isStr(p, MAX_CHARS.peer))) bad('route must be a list of peer ids');
  if (h.v !== undefined && !isStr(h.v)) bad('version must be a string');
  if (h.tn !== undefined && !isStr(h.tn, MAX_CHARS.tenant)) bad('tenant must be a short string');
  if (!Array.isArray(h.out) || h.out.length > MAX_TENSORS || !h.out.every((o) => isStr(o))) bad('outputs must be a list of names');
  if (h.n !== undefined && !isStr(h.n, MAX_CHARS.nonce)) bad('nonce must be a short string');
  return {
    queryId: h.q, ttl: h.ttl, remainingMs: h.rem, route: h.route, origin: h.o, model: h.m,
    ...(h.v === undefined ? {} : { version: h.v }), ...(h.tn === undefined ? {} : { tenant: h.tn }), outputs: h.out, parameters: decodeParams(h.p), inputs: h.sl === undefined ? decodeTensors(h.t, payload) : [],
    ...(h.n === undefined ? {} : { nonce: h.n }), ...decodeSealed(h.sl, payload),
    // Trace context is advisory: a malformed one is ignored (W3C), never a bad frame.
    ...(isStr(h.tp, MAX_CHARS.traceparent) ? { traceparent: h.tp } : {}),
  };
}

function decodeFrame(bytes: Uint8Array): DecodedFrame {
  const { type, corr, header, payload } = splitFrame(bytes);
  let h: unknown;
  try {
    h = JSON.parse(UTF8_STRICT.decode(header));
  } catch {
    bad('header is not UTF-8 JSON');
  }
  if (!isRecord(h)) bad('header is not an object');
  switch (type) {
    case FRAME_REQUEST:
      return { type, corr, body: decodeRequest(h, payload) };
    case FRAME_RESULT:
      if (!isStr(h.m) || !isStr(h.v) || !isStr(h.id)) bad('result needs m, v, id');
      return {
        type, corr,
        body: { model: h.m, version: h.v, id: h.id, parameters: decodeParams(h.p), outputs: h.sl === undefined ? decodeTensors(h.t, payload) : [], hops: decodeHops(h.hops),
          ...decodeProof(h.pf), ...decodeSealed(h.sl, payload),
        },
      };
    case FRAME_ERROR:
      return { type, corr, body: { kind: errorKindOf(h.k), message: isStr(h.msg, MAX_CHARS.message) ? h.msg : 'remote error', hops: decodeHops(h.hops) } };
    case FRAME_CANCEL:
      return { type, corr };
    default:
      return bad(`unknown frame type ${type}`);
  }
}

/** /plexus/forward/1.0.0's frames. */
export const codecV1: ForwardCodec = {
  encodeRequest,
  encodeResult,
  encodeError: (corr, e) => frame(FRAME_ERROR, corr, { k: e.kind, msg: e.message.slice(0, MAX_SENT_MESSAGE), hops: e.hops }),
  encodeCancel: (corr) => frame(FRAME_CANCEL, corr, {}),
  decodeFrame,
};
