// A bounded decoder for ModelInferRequest, used as grpc-js's requestDeserialize for ModelInfer
// and ModelStreamInfer instead of protobufjs. It walks the wire format, counts before it
// allocates (inputs, outputs, raw entries, parameters, shape dims, contents elements, BYTES
// elements) and refuses a message past a limit, so decoding costs at most a small multiple of
// the message size. Its output has the shape proto-loader gives (keepCase, int64 as text, bytes
// as views), except numeric typed contents, which come as typed arrays. It never throws a
// PlexusError: the message comes back with `rejected` set, for the handler to answer with the
// right status (grpc-js would turn a throw into INTERNAL).
import { InputLimitError, InvalidInputError, isPlexusError } from '../../errors.ts';
import { MAX_RANK } from '../../wire/tensor.ts';
import type { InputLimits } from '../input-limits.ts';
import { MAX_TENSORS } from './codec.ts';
import { countContents, fillContents } from './contents-wire.ts';
import type { Int64, WireInferParameter, WireInferRequest, WireInputTensor, WireParameters, WireRequestedOutput } from '../../wire/messages.ts';
import { MAX_PARAMETERS } from '../../wire/params.ts';
import { int64Text, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader } from './wire-reader.ts';

export type DecodeLimits = Pick<InputLimits, 'maxTypedElements' | 'maxBytesElements'>;

export function decodeModelInferRequest(buf: Uint8Array, limits: DecodeLimits): WireInferRequest {
  const head = { model_name: '', id: '' };
  try {
    return decodeRequest(buf, limits, head);
  } catch (e) {
    if (!isPlexusError(e)) throw e;
    return { model_name: head.model_name, model_version: '', id: head.id, inputs: [], outputs: [], raw_input_contents: [], rejected: e };
  }
}

function expectLen(r: WireReader, wt: number, field: string): void {
  if (wt !== WIRE_LEN) r.fail(`${field} has wire type ${wt}`);
}

function decodeRequest(buf: Uint8Array, limits: DecodeLimits, head: { model_name: string; id: string }): WireInferRequest {
  const r = new WireReader(buf, 0, buf.byteLength, 'ModelInferRequest');
  let model_version = '';
  const counts = [0, 0, 0, 0, 0, 0, 0, 0];
  while (r.more()) {
    const tag = r.uint32();
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f >= 1 && f <= 7) expectLen(r, wt, `field ${f}`);
    if (f === 1) head.model_name = r.string();
    else if (f === 2) model_version = r.string();
    else if (f === 3) head.id = r.string();
    else { if (f >= 4 && f <= 7) counts[f] = (counts[f] ?? 0) + 1; r.skip(wt); }
  }
  const [nParams, nInputs, nOutputs, nRaw] = [counts[4] ?? 0, counts[5] ?? 0, counts[6] ?? 0, counts[7] ?? 0];
  if (nInputs > MAX_TENSORS) throw new InputLimitError(`request has ${nInputs} inputs; at most ${MAX_TENSORS} are allowed`);
  if (nOutputs > MAX_TENSORS) throw new InputLimitError(`request asks for ${nOutputs} outputs; at most ${MAX_TENSORS} are allowed`);
  if (nRaw > MAX_TENSORS) throw new InputLimitError(`raw_input_contents has ${nRaw} entries; at most ${MAX_TENSORS} are allowed`);
  if (nParams > MAX_PARAMETERS) throw new InputLimitError(`request has ${nParams} parameters; at most ${MAX_PARAMETERS} are allowed`);

  const parameters: WireParameters = Object.create(null) as WireParameters;
  const inputs: WireInputTensor[] = [];
  const outputs: WireRequestedOutput[] = [];
  const raw: Uint8Array[] = [];
  const tally = { bytes: 0 };
  r.pos = 0;
  while (r.more()) {
    const tag = r.uint32();
    const f = tag >>> 3;
    if (f === 4) readMapEntry(r.sub('request parameter'), parameters);
    else if (f === 5) inputs.push(readInput(r.sub(`inputs[${inputs.length}]`), inputs.length, limits, tally));
    else if (f === 6) outputs.push(readOutput(r.sub(`outputs[${outputs.length}]`)));
    else if (f === 7) raw.push(r.bytes());
    else r.skip(tag & 7);
  }
  if (raw.length > 0) checkRawBytesElements(inputs, limits, tally);
  return { model_name: head.model_name, model_version, id: head.id, parameters, inputs, outputs, raw_input_contents: raw };
}

/** BYTES elements sent raw: as many as the shape says (each a view once decoded). */
function checkRawBytesElements(inputs: readonly WireInputTensor[], limits: DecodeLimits, tally: { bytes: number }): void {
  for (const input of inputs) {
    if (input.datatype !== 'BYTES' || input.contents) continue;
    const n = input.shape.reduce<number>((a, d) => a * Math.max(0, Number(d)), 1);
    addBytesElements(`input '${input.name}'`, n, limits, tally);
  }
}

function addBytesElements(where: string, n: number, limits: DecodeLimits, tally: { bytes: number }): void {
  tally.bytes += n;
  if (tally.bytes > limits.maxBytesElements) {
    throw new InputLimitError(`${where} brings the request to ${tally.bytes} BYTES elements; at most ${limits.maxBytesElements} are allowed per request (limits.maxBytesElements)`);
  }
}

function readInput(r: WireReader, index: number, limits: DecodeLimits, tally: { bytes: number }): WireInputTensor {
  let name = '';
  let datatype = '';
  const shape: Int64[] = [];
  let rank = 0;
  const parameters: WireParameters = Object.create(null) as WireParameters;
  let nParams = 0;
  // A repeated `contents` replaces the earlier one, as protobufjs reads it (encoders send one).
  let contents: WireReader | undefined;
  const dim = (): void => {
    r.varint64();
    if (++rank <= MAX_RANK) shape.push(r.hi === 0 ? r.lo : int64Text(r.lo, r.hi, true));
  };
  while (r.more()) {
    const tag = r.uint32();
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1) { expectLen(r, wt, 'name'); name = r.string(); }
    else if (f === 2) { expectLen(r, wt, 'datatype'); datatype = r.string(); }
    else if (f === 3 && wt === WIRE_VARINT) dim();
    else if (f === 3 && wt === WIRE_LEN) { const end = r.len(); while (r.pos < end) dim(); }
    else if (f === 3) r.fail(`shape has wire type ${wt}`);
    else if (f === 4) { expectLen(r, wt, 'parameters'); if (++nParams <= MAX_PARAMETERS) readMapEntry(r.sub('input parameter'), parameters); else r.skip(wt); }
    else if (f === 5) { expectLen(r, wt, 'contents'); contents = r.sub('contents'); }
    else r.skip(wt);
  }
  const where = `input '${name || `#${index}`}'`;
  if (rank > MAX_RANK) throw new InvalidInputError(`${where}: shape has rank ${rank}; expected at most ${MAX_RANK} dimensions`);
  if (nParams > MAX_PARAMETERS) throw new InputLimitError(`${where} has ${nParams} parameters; at most ${MAX_PARAMETERS} are allowed`);
  if (contents === undefined) return { name, datatype, shape, parameters, contents: null };
  const parts = [contents];
  const bytesLeft = limits.maxBytesElements - tally.bytes;
  const counts = countContents(parts, { total: limits.maxTypedElements, bytes: bytesLeft });
  if (counts.bytes > bytesLeft) {
    throw new InputLimitError(`${where} brings the request to more than ${limits.maxBytesElements} BYTES elements; at most ${limits.maxBytesElements} are allowed per request (limits.maxBytesElements)`);
  }
  if (counts.over) {
    throw new InputLimitError(`${where}: contents has more than ${limits.maxTypedElements} elements; at most ${limits.maxTypedElements} are allowed per tensor (limits.maxTypedElements; send large tensors in raw_input_contents)`);
  }
  tally.bytes += counts.bytes;
  return { name, datatype, shape, parameters, contents: fillContents(parts, counts) };
}

function readOutput(r: WireReader): WireRequestedOutput {
  let name = '';
  const parameters: WireParameters = Object.create(null) as WireParameters;
  let nParams = 0;
  while (r.more()) {
    const tag = r.uint32();
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1) { expectLen(r, wt, 'name'); name = r.string(); }
    else if (f === 2) { expectLen(r, wt, 'parameters'); if (++nParams <= MAX_PARAMETERS) readMapEntry(r.sub('output parameter'), parameters); else r.skip(wt); }
    else r.skip(wt);
  }
  if (nParams > MAX_PARAMETERS) throw new InputLimitError(`output '${name}' has ${nParams} parameters; at most ${MAX_PARAMETERS} are allowed`);
  return { name, parameters };
}

/** One map<string, InferParameter> entry; the last value for a key wins. */
function readMapEntry(r: WireReader, into: WireParameters): void {
  let key = '';
  let value: WireInferParameter = {};
  while (r.more()) {
    const tag = r.uint32();
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1) { expectLen(r, wt, 'parameter key'); key = r.string(); }
    else if (f === 2) { expectLen(r, wt, 'parameter value'); value = readParameter(r.sub(`parameter '${key}'`)); }
    else r.skip(wt);
  }
  into[key] = value;
}

function readParameter(r: WireReader): WireInferParameter {
  let p: WireInferParameter = {};
  while (r.more()) {
    const tag = r.uint32();
    const f = tag >>> 3;
    const wt = tag & 7;
    const want = f === 3 ? WIRE_LEN : f === 4 ? WIRE_FIXED64 : WIRE_VARINT;
    if (f < 1 || f > 5) { r.skip(wt); continue; }
    if (wt !== want) r.fail(`parameter field ${f} has wire type ${wt}`);
    if (f === 3) { p = { string_param: r.string(), parameter_choice: 'string_param' }; continue; }
    if (f === 4) {
      const at = r.pos;
      r.advance(8);
      p = { double_param: Buffer.from(r.buf.buffer, r.buf.byteOffset + at, 8).readDoubleLE(0), parameter_choice: 'double_param' };
      continue;
    }
    r.varint64();
    if (f === 1) p = { bool_param: r.lo !== 0 || r.hi !== 0, parameter_choice: 'bool_param' };
    else if (f === 2) p = { int64_param: int64Text(r.lo, r.hi, true), parameter_choice: 'int64_param' };
    else p = { uint64_param: int64Text(r.lo, r.hi, false), parameter_choice: 'uint64_param' };
  }
  return p;
}
