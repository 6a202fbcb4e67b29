// /plexus/forward/2.0.0's frames: forward-frame.ts's layout with a binary header (bin-header.ts).
// With 1.0.0's JSON header (forward-codec-v1.ts) a hop's four frame operations took ~0.11 ms
// after an idle wait, as at c=1, and ~0.06 ms with this one (`npm run bench -- --only
// forward-codec`: about half, warm or cold). Each header is
// its fields in a fixed order, optional ones present when a bit of its leading flags byte says so:
//   request: flags q ttl rem route[] o m [v] [tn] out[] params tensors [n] [sl: [k] iv] [tp]
//   result:  flags m v id params hops[] tensors [pf: by sig] [sl: [k] iv]
//   error:   k msg hops[]        cancel: (empty)
// params: count, then key, tag (0 string, 1 number, 2 false, 3 true) and the string or number;
// tensors: count, then name, datatype, rank, dims (float64) and byte length; hops: peer, ms.
// The header ends with zero padding (0-7 bytes) so the payload starts 8-aligned where the frame
// is received (RECEIVED_AT), and each tensor's bytes after the first are preceded by zero padding
// to a multiple of 8 counted from the payload's start: so tensors decode as views of the frame.
// A flag this version does not define, or a byte after the last field, is a bad frame: a new
// field is a new protocol version.
import { encodeRawTensor } from '../../wire/tensor.ts';
import type { Params, ParamValue, Tensor } from '../../inference/types.ts';
import type { Sealed } from '../verify/seal.ts';
import { ALIGN, HeaderReader, HeaderWriter } from './bin-header.ts';
import {
  alignUp, bad, errorKindOf, FRAME_CANCEL, FRAME_ERROR, FRAME_HEAD_BYTES, FRAME_REQUEST, FRAME_RESULT, MAX_CHARS, MAX_PARAMS, MAX_ROUTE, MAX_SENT_MESSAGE, MAX_TENSORS,
  PayloadReader, splitFrame, writeFrameHead,
  type DecodedFrame, type ForwardCodec, type ForwardError, type ForwardRequest, type ForwardResult, type HopTiming,
} from './forward-frame.ts';

export { FRAME_CANCEL, FRAME_ERROR, FRAME_REQUEST, FRAME_RESULT } from './forward-frame.ts';
export type { DecodedFrame, ForwardError, ForwardRequest, ForwardResult, HopTiming } from './forward-frame.ts';

const REQ_VERSION = 1;
const REQ_TENANT = 2;
const REQ_NONCE = 4;
const REQ_SEALED = 8;
const REQ_SEAL_KEY = 16;
const REQ_TRACE = 32;
const RES_PROOF = 1;
const RES_SEALED = 2;
const RES_SEAL_KEY = 4;
/** Padding, only ever read. */
const ZEROS = new Uint8Array(ALIGN);
const P_STRING = 0;
const P_NUMBER = 1;
const P_FALSE = 2;
const P_TRUE = 3;

/**
 * Where a frame's first byte sits in the buffer its receiver decodes it from, when it travels
 * alone in a Noise message (as at low load): after the message's 2-byte length, yamux's 12-byte
 * frame header and the frame's own 4-byte length. The header is padded so that the tensors
 * start 8-aligned there, and decode as views.
 */
export const FRAME_RECEIVED_AT = 2 + 12 + 4;
const RECEIVED_AT = FRAME_RECEIVED_AT % ALIGN;

/** A header starts with the frame's 9-byte head, so head and header leave as one buffer. */
function frame(type: number, corr: number, w: HeaderWriter, parts: readonly Uint8Array[]): Uint8Array[] {
  const out = w.finish(RECEIVED_AT);
  writeFrameHead(new DataView(out.buffer), type, corr, out.byteLength - FRAME_HEAD_BYTES);
  return [out, ...parts];
}

function writeParams(w: HeaderWriter, p: Params): void {
  const keys = Object.keys(p);
  w.varint(keys.length);
  for (const k of keys) {
    const v: ParamValue | undefined = p[k];
    w.str(k);
    if (typeof v === 'string') w.u8(P_STRING).str(v);
    else if (typeof v === 'number') w.u8(P_NUMBER).f64(v);
    else w.u8(v === true ? P_TRUE : P_FALSE);
  }
}

function writeHops(w: HeaderWriter, hops: readonly HopTiming[]): void {
  w.varint(hops.length);
  for (const h of hops) w.str(h.peer).f64(h.ms);
}

/** The tensors' descriptors (or none when sealed); returns the payload's parts. */
function writePayload(w: HeaderWriter, tensors: readonly Tensor[], sealed: Sealed | undefined): Uint8Array[] {
  if (sealed !== undefined) { w.varint(0); return [sealed.bytes]; }
  w.varint(tensors.length);
  const parts: Uint8Array[] = [];
  let off = 0;
  for (const t of tensors) {
    const bytes = encodeRawTensor(t);
    w.str(t.name).str(t.datatype).varint(t.shape.length);
    for (const d of t.shape) w.f64(d);
    w.varint(bytes.byteLength);
    const pad = alignUp(off, ALIGN) - off;
    if (pad > 0) parts.push(ZEROS.subarray(0, pad));
    parts.push(bytes);
    off += pad + bytes.byteLength;
  }
  return parts;
}

function writeSealed(w: HeaderWriter, s: Sealed): void {
  if (s.epk !== undefined) w.str(s.epk);
  w.str(s.iv);
}

function encodeRequest(corr: number, r: ForwardRequest): Uint8Array[] {
  const w = new HeaderWriter(FRAME_HEAD_BYTES);
  const s = r.sealed;
  w.u8((r.version === undefined ? 0 : REQ_VERSION) | (r.tenant === undefined ? 0 : REQ_TENANT) | (r.nonce === undefined ? 0 : REQ_NONCE)
    | (s === undefined ? 0 : REQ_SEALED | (s.epk === undefined ? 0 : REQ_SEAL_KEY)) | (r.traceparent === undefined ? 0 : REQ_TRACE));
  w.str(r.queryId).f64(r.ttl).f64(r.remainingMs).varint(r.route.length);
  for (const p of r.route) w.str(p);
  w.str(r.origin).str(r.model);
  if (r.version !== undefined) w.str(r.version);
  if (r.tenant !== undefined) w.str(r.tenant);
  w.varint(r.outputs.length);
  for (const o of r.outputs) w.str(o);
  writeParams(w, r.parameters);
  const parts = writePayload(w, r.inputs, s);
  if (r.nonce !== undefined) w.str(r.nonce);
  if (s !== undefined) writeSealed(w, s);
  if (r.traceparent !== undefined) w.str(r.traceparent);
  return frame(FRAME_REQUEST, corr, w, parts);
}

function encodeResult(corr: number, r: ForwardResult): Uint8Array[] {
  const w = new HeaderWriter(FRAME_HEAD_BYTES);
  const s = r.sealed;
  w.u8((r.proof === undefined ? 0 : RES_PROOF) | (s === undefined ? 0 : RES_SEALED | (s.epk === undefined ? 0 : RES_SEAL_KEY)));
  w.str(r.model).str(r.version).str(r.id);
  writeParams(w, r.parameters);
  writeHops(w, r.hops);
  const parts = writePayload(w, r.outputs, s);
  if (r.proof !== undefined) w.str(r.proof.by).str(r.proof.sig);
  if (s !== undefined) writeSealed(w, s);
  return frame(FRAME_RESULT, corr, w, parts);
}

function encodeError(corr: number, e: ForwardError): Uint8Array[] {
  const w = new HeaderWriter(FRAME_HEAD_BYTES).str(e.kind).str(e.message.slice(0, MAX_SENT_MESSAGE));
  writeHops(w, e.hops);
  return frame(FRAME_ERROR, corr, w, []);
}

function flagsOf(r: HeaderReader, known: number, what: string): number {
  const f = r.u8(`${what} flags`);
  if ((f & ~known) !== 0) bad(`${what} flags 0x${f.toString(16)} name fields this version does not have`);
  return f;
}

function readNames(r: HeaderReader, max: number, maxChars: number, what: string): string[] {
  const n = r.count(max, what);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.str(maxChars, what));
  return out;
}

function readParams(r: HeaderReader): Params {
  const n = r.count(MAX_PARAMS, 'parameters');
  const out: Record<string, ParamValue> = {};
  for (let i = 0; i < n; i++) {
    const k = r.str(MAX_CHARS.name, 'parameter name');
    const tag = r.u8('parameter type');
    if (tag === P_STRING) out[k] = r.str(MAX_CHARS.message, 'parameter value');
    else if (tag === P_NUMBER) out[k] = r.f64('parameter value');
    else if (tag === P_FALSE || tag === P_TRUE) out[k] = tag === P_TRUE;
    else bad(`parameter '${k.slice(0, 64)}' has unknown type ${tag}`);
  }
  return out;
}

function readHops(r: HeaderReader): HopTiming[] {
  const n = r.count(MAX_ROUTE, 'hops');
  const out: HopTiming[] = [];
  for (let i = 0; i < n; i++) out.push({ peer: r.str(MAX_CHARS.peer, 'hop peer'), ms: r.finite('hop time') });
  return out;
}

/** The tensors the header describes, as views of the payload; none when the payload is sealed. */
function readTensors(r: HeaderReader, payload: Uint8Array, sealed: boolean): Tensor[] {
  const n = r.count(MAX_TENSORS, 'tensors');
  if (sealed && n > 0) bad('a sealed payload has no tensors');
  const reader = new PayloadReader(payload, ALIGN);
  const out: Tensor[] = [];
  for (let i = 0; i < n; i++) {
    const name = r.str(MAX_CHARS.name, 'tensor name');
    const datatype = r.str(MAX_CHARS.datatype, 'tensor datatype');
    const rank = r.count(MAX_TENSORS, 'tensor rank');
    const shape: number[] = [];
    for (let d = 0; d < rank; d++) shape.push(r.finite('tensor dimension'));
    out.push(reader.take(name, datatype, shape, r.varint('tensor byte length')));
  }
  if (!sealed) reader.end();
  return out;
}

function readSealed(r: HeaderReader, withKey: boolean, payload: Uint8Array): Sealed {
  const epk = withKey ? r.str(MAX_CHARS.sealKey, 'sealing key') : undefined;
  return { ...(epk === undefined ? {} : { epk }), iv: r.str(MAX_CHARS.iv, 'sealing iv'), bytes: payload.slice() };
}

function decodeRequest(r: HeaderReader, payload: Uint8Array): ForwardRequest {
  const f = flagsOf(r, REQ_VERSION | REQ_TENANT | REQ_NONCE | REQ_SEALED | REQ_SEAL_KEY | REQ_TRACE, 'request');
  const queryId = r.str(MAX_CHARS.name, 'query id');
  const ttl = r.finite('ttl');
  const remainingMs = r.finite('remaining time');
  const route = readNames(r, MAX_ROUTE, MAX_CHARS.peer, 'route');
  const origin = r.str(MAX_CHARS.peer, 'origin');
  const model = r.str(MAX_CHARS.name, 'model');
  const version = (f & REQ_VERSION) === 0 ? undefined : r.str(MAX_CHARS.name, 'version');
  const tenant = (f & REQ_TENANT) === 0 ? undefined : r.str(MAX_CHARS.tenant, 'tenant');
  const outputs = readNames(r, MAX_TENSORS, MAX_CHARS.name, 'outputs');
  const parameters = readParams(r);
  const inputs = readTensors(r, payload, (f & REQ_SEALED) !== 0);
  const nonce = (f & REQ_NONCE) === 0 ? undefined : r.str(MAX_CHARS.nonce, 'nonce');
  const sealed = (f & REQ_SEALED) === 0 ? undefined : readSealed(r, (f & REQ_SEAL_KEY) !== 0, payload);
  // Trace context is advisory: one too long is dropped (W3C), never a bad frame.
  const tp = (f & REQ_TRACE) === 0 ? undefined : r.str(MAX_CHARS.message, 'traceparent');
  const traceparent = tp !== undefined && tp.length <= MAX_CHARS.traceparent ? tp : undefined;
  return {
    queryId, ttl, remainingMs, route, origin, model, outputs, parameters, inputs,
    ...(version === undefined ? {} : { version }), ...(tenant === undefined ? {} : { tenant }), ...(nonce === undefined ? {} : { nonce }),
    ...(sealed === undefined ? {} : { sealed }), ...(traceparent === undefined ? {} : { traceparent }),
  };
}

function decodeResult(r: HeaderReader, payload: Uint8Array): ForwardResult {
  const f = flagsOf(r, RES_PROOF | RES_SEALED | RES_SEAL_KEY, 'result');
  const model = r.str(MAX_CHARS.name, 'model');
  const version = r.str(MAX_CHARS.name, 'version');
  const id = r.str(MAX_CHARS.name, 'id');
  const parameters = readParams(r);
  const hops = readHops(r);
  const outputs = readTensors(r, payload, (f & RES_SEALED) !== 0);
  const proof = (f & RES_PROOF) === 0 ? undefined : { by: r.str(MAX_CHARS.peer, 'proof signer'), sig: r.str(MAX_CHARS.sig, 'proof signature') };
  const sealed = (f & RES_SEALED) === 0 ? undefined : readSealed(r, (f & RES_SEAL_KEY) !== 0, payload);
  return { model, version, id, parameters, outputs, hops, ...(proof === undefined ? {} : { proof }), ...(sealed === undefined ? {} : { sealed }) };
}

function decodeFrame(bytes: Uint8Array): DecodedFrame {
  const { type, corr, header, payload } = splitFrame(bytes);
  const r = new HeaderReader(header);
  let f: DecodedFrame;
  switch (type) {
    case FRAME_REQUEST: f = { type, corr, body: decodeRequest(r, payload) }; break;
    case FRAME_RESULT: f = { type, corr, body: decodeResult(r, payload) }; break;
    case FRAME_ERROR: {
      const kind = errorKindOf(r.str(MAX_CHARS.name, 'error kind'));
      f = { type, corr, body: { kind, message: r.str(MAX_CHARS.message, 'error message'), hops: readHops(r) } };
      break;
    }
    case FRAME_CANCEL: f = { type, corr }; break;
    default: return bad(`unknown frame type ${type}`);
  }
  r.end();
  if (f.type !== FRAME_REQUEST && f.type !== FRAME_RESULT && payload.byteLength > 0) bad(`${payload.byteLength} bytes after a frame that carries no tensors`);
  return f;
}

function encodeCancel(corr: number): Uint8Array[] {
  return frame(FRAME_CANCEL, corr, new HeaderWriter(FRAME_HEAD_BYTES), []);
}

/** /plexus/forward/2.0.0's frames. */
export const codecV2: ForwardCodec = { encodeRequest, encodeResult, encodeError, encodeCancel, decodeFrame };

// The current version's functions by name, for callers that speak it directly (tests, bench).
export { decodeFrame, encodeCancel, encodeError, encodeRequest, encodeResult };
