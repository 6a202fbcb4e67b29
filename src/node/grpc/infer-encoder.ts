// A hand-written encoder for ModelInferResponse and ModelStreamInferResponse, used as grpc-js's
// responseSerialize for ModelInfer and ModelStreamInfer (bounded-service.ts) instead of
// protobufjs, whose fromObject + encode built a message object, a writer op list and a fork per
// nested message for every answer. Here one size pass and one write pass fill a single Buffer
// (wire-writer.ts). The bytes are those protobufjs writes for the same object (fields in number
// order, present scalars written even when empty, numeric repeated fields packed), except that a
// lone UTF-16 surrogate becomes U+FFFD (valid UTF-8). What it declines (EncodeFallback) is left
// to protobufjs's serializer, which encodes it or throws as before; any other error is rethrown.
import type {
  WireInferParameter, WireInferResponse, WireOutputTensor, WireParameters, WireStreamInferResponse, WireTensorContents,
} from '../../wire/messages.ts';
import { contentsSize, writeContents } from './contents-encoder.ts';
import { bytesOf, EncodeFallback, varint32Size, varint64Size, WireWriter } from './wire-writer.ts';

/** One writer for the process: encoding is synchronous and never re-entered. */
const writer = new WireWriter();

/** A string field's value as protobufjs's fromObject takes it (String(v)). */
function text(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

function object<T>(v: unknown, what: string): T {
  if (v === null || typeof v !== 'object') throw new EncodeFallback(`${what} is not an object`);
  return v as T;
}

function list(v: unknown, what: string): ArrayLike<unknown> | undefined {
  if (v == null) return undefined;
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new EncodeFallback(`${what} is not an array`);
  return v as ArrayLike<unknown>;
}

function stringSize(w: WireWriter, v: unknown): number {
  return v == null ? 0 : w.stringSize(text(v));
}

function writeString(w: WireWriter, tag: number, v: unknown): void {
  if (v == null) return;
  w.byte(tag);
  w.string(text(v));
}

// ---- InferParameter and map<string, InferParameter>

function paramSize(w: WireWriter, v: unknown): number {
  const p = object<WireInferParameter>(v, 'parameter');
  let size = 0;
  if (p.bool_param != null) size += 2;
  if (p.int64_param != null) { w.setInt64(p.int64_param, false); size += 1 + varint64Size(w.lo, w.hi); }
  size += stringSize(w, p.string_param);
  if (p.double_param != null) size += 9;
  if (p.uint64_param != null) { w.setInt64(p.uint64_param, true); size += 1 + varint64Size(w.lo, w.hi); }
  return size;
}

function writeParam(w: WireWriter, p: WireInferParameter): void {
  if (p.bool_param != null) { w.byte(0x08); w.byte(p.bool_param ? 1 : 0); }
  if (p.int64_param != null) { w.byte(0x10); w.setInt64(p.int64_param, false); w.varint64(); }
  writeString(w, 0x1a, p.string_param);
  if (p.double_param != null) { w.byte(0x21); w.double(Number(p.double_param)); }
  if (p.uint64_param != null) { w.byte(0x28); w.setInt64(p.uint64_param, true); w.varint64(); }
}

function paramsSize(w: WireWriter, v: unknown): number {
  if (v == null) return 0;
  const params = object<WireParameters>(v, 'parameters');
  let size = 0;
  for (const key in params) {
    if (!Object.hasOwn(params, key)) continue;
    const entry = w.reserve();
    const keySize = w.stringSize(key);
    size += w.nested(entry, keySize + w.nested(w.reserve(), paramSize(w, params[key])));
  }
  return size;
}

/** Map entries under `tag`: key = 1, value = 2. */
function writeParams(w: WireWriter, tag: number, params: WireParameters | undefined): void {
  if (params == null) return;
  for (const key in params) {
    if (!Object.hasOwn(params, key)) continue;
    w.byte(tag);
    w.uint32(w.take());
    w.byte(0x0a);
    w.string(key);
    w.byte(0x12);
    w.uint32(w.take());
    writeParam(w, params[key] as WireInferParameter);
  }
}

// ---- InferOutputTensor

function outputSize(w: WireWriter, v: unknown): number {
  const o = object<WireOutputTensor>(v, 'output');
  let size = stringSize(w, o.name) + stringSize(w, o.datatype);
  const shape = list(o.shape, 'shape');
  if (shape !== undefined && shape.length > 0) {
    const slot = w.reserve();
    let body = 0;
    for (let i = 0; i < shape.length; i++) { w.setInt64(shape[i], false); body += varint64Size(w.lo, w.hi); }
    size += w.nested(slot, body);
  }
  size += paramsSize(w, o.parameters);
  if (o.contents != null) size += w.nested(w.reserve(), contentsSize(w, object<WireTensorContents>(o.contents, 'contents')));
  return size;
}

function writeOutput(w: WireWriter, o: WireOutputTensor): void {
  writeString(w, 0x0a, o.name);
  writeString(w, 0x12, o.datatype);
  const shape = o.shape as ArrayLike<unknown> | null | undefined;
  if (shape != null && shape.length > 0) {
    w.byte(0x1a);
    w.uint32(w.take());
    for (let i = 0; i < shape.length; i++) { w.setInt64(shape[i], false); w.varint64(); }
  }
  writeParams(w, 0x22, o.parameters);
  if (o.contents != null) {
    w.byte(0x2a);
    w.uint32(w.take());
    writeContents(w, o.contents);
  }
}

// ---- ModelInferResponse and ModelStreamInferResponse

function responseSize(w: WireWriter, v: unknown): number {
  const m = object<Partial<WireInferResponse>>(v, 'response');
  let size = stringSize(w, m.model_name) + stringSize(w, m.model_version) + stringSize(w, m.id);
  size += paramsSize(w, m.parameters);
  const outputs = list(m.outputs, 'outputs');
  if (outputs !== undefined) {
    for (let i = 0; i < outputs.length; i++) size += w.nested(w.reserve(), outputSize(w, outputs[i]));
  }
  const raw = list(m.raw_output_contents, 'raw_output_contents');
  if (raw !== undefined) {
    for (let i = 0; i < raw.length; i++) {
      const len = bytesOf(raw[i], 'raw_output_contents element').byteLength;
      size += 1 + varint32Size(len) + len;
    }
  }
  return size;
}

function writeResponse(w: WireWriter, m: Partial<WireInferResponse>): void {
  writeString(w, 0x0a, m.model_name);
  writeString(w, 0x12, m.model_version);
  writeString(w, 0x1a, m.id);
  writeParams(w, 0x22, m.parameters);
  const outputs = m.outputs ?? [];
  for (const o of outputs) {
    w.byte(0x2a);
    w.uint32(w.take());
    writeOutput(w, o);
  }
  const raw = m.raw_output_contents ?? [];
  for (const b of raw) {
    w.byte(0x32);
    w.bytes(b);
  }
}

/** ModelInferResponse's bytes; throws EncodeFallback for what it leaves to protobufjs. */
export function encodeModelInferResponse(m: WireInferResponse): Buffer {
  writer.begin();
  writer.alloc(responseSize(writer, m));
  writeResponse(writer, m);
  return writer.finish();
}

/** ModelStreamInferResponse (error_message = 1, infer_response = 2); throws EncodeFallback like the above. */
export function encodeModelStreamInferResponse(m: WireStreamInferResponse): Buffer {
  writer.begin();
  const s = object<WireStreamInferResponse>(m, 'stream response');
  let size = stringSize(writer, s.error_message);
  if (s.infer_response != null) size += writer.nested(writer.reserve(), responseSize(writer, s.infer_response));
  writer.alloc(size);
  writeString(writer, 0x0a, s.error_message);
  if (s.infer_response != null) {
    writer.byte(0x12);
    writer.uint32(writer.take());
    writeResponse(writer, s.infer_response);
  }
  return writer.finish();
}

/**
 * A responseSerialize: the fast encoder, or protobufjs's serializer for a message it does not
 * take (which then encodes it, or throws as it always did).
 */
export function withFallback<T>(fast: (m: T) => Buffer, slow: (m: T) => Buffer): (m: T) => Buffer {
  return (m) => {
    try {
      return fast(m);
    } catch (e) {
      // Only what the fast path declines; anything else is a bug and must not be hidden.
      if (!(e instanceof EncodeFallback)) throw e;
      return slow(m);
    }
  };
}
