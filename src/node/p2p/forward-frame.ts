// What every version of /plexus/forward shares: the frames' meaning (types below), their outer
// layout [u8 type][u32 corr][u32 headerLen][header][tensor bytes ...] and their bounds. The
// versions differ only in how the header is written: JSON in 1.0.0 (forward-codec-v1.ts),
// binary in 2.0.0 (forward-codec.ts). Tensor bytes are the KServe raw form (src/wire/tensor.ts):
// encoded as views over the caller's buffers, decoded as views over the frame when aligned.
import { ERROR_KINDS, ProtocolError } from '../../errors.ts';
import type { ErrorKind } from '../../errors.ts';
import { decodeRawTensor, isDataType } from '../../wire/tensor.ts';
import type { Params, Tensor } from '../../inference/types.ts';
import type { TraceSpan } from '../../trace.ts';
import type { AnswerProof } from '../verify/proof.ts';
import type { Sealed } from '../verify/seal.ts';

export const FRAME_REQUEST = 1;
export const FRAME_RESULT = 2;
export const FRAME_ERROR = 3;
export const FRAME_CANCEL = 4;
export const FRAME_HEAD_BYTES = 9;
export const MAX_HEADER = 1024 * 1024;
export const MAX_TENSORS = 1024;
export const MAX_ROUTE = 64;
export const MAX_PARAMS = 256;
/** Longest string (UTF-16 units) a header may carry in each kind of field; others take `name`. */
export const MAX_CHARS = { name: 1024, peer: 128, tenant: 64, nonce: 128, sealKey: 64, iv: 64, sig: 512, message: 8192, traceparent: 512, datatype: 16 } as const;
/** An error frame's message is cut to this many characters when sent. */
export const MAX_SENT_MESSAGE = 4096;

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
  /** W3C traceparent of the sender's forward span; absent when the sender does not trace. */
  readonly traceparent?: string;
  /** This node's span of the query (local only, never encoded); absent when tracing is off. */
  readonly trace?: TraceSpan;
  /** The entry node's authenticated tenant, for accounting on every hop. */
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

/** One version's frames: each encoder returns the frame as parts (views where it can); decodeFrame throws ProtocolError (or InvalidInputError for a bad tensor). */
export interface ForwardCodec {
  encodeRequest(corr: number, r: ForwardRequest): Uint8Array[];
  encodeResult(corr: number, r: ForwardResult): Uint8Array[];
  encodeError(corr: number, e: ForwardError): Uint8Array[];
  encodeCancel(corr: number): Uint8Array[];
  decodeFrame(bytes: Uint8Array): DecodedFrame;
}

export function bad(what: string): never {
  throw new ProtocolError(`malformed forward frame: ${what}`);
}

/** The 9 bytes before the header. */
export function writeFrameHead(into: DataView, type: number, corr: number, headerLen: number): void {
  into.setUint8(0, type);
  into.setUint32(1, corr, false);
  into.setUint32(5, headerLen, false);
}

/** A frame cut into its parts (views); the header's length is checked against the frame and MAX_HEADER. */
export function splitFrame(bytes: Uint8Array): { type: number; corr: number; header: Uint8Array; payload: Uint8Array } {
  if (bytes.byteLength < FRAME_HEAD_BYTES) bad(`frame of ${bytes.byteLength} bytes is shorter than its ${FRAME_HEAD_BYTES}-byte header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = v.getUint32(5, false);
  if (hlen > MAX_HEADER || FRAME_HEAD_BYTES + hlen > bytes.byteLength) bad(`header length ${hlen} does not fit the frame`);
  return { type: v.getUint8(0), corr: v.getUint32(1, false), header: bytes.subarray(FRAME_HEAD_BYTES, FRAME_HEAD_BYTES + hlen), payload: bytes.subarray(FRAME_HEAD_BYTES + hlen) };
}

/** `n` rounded up to a multiple of `to`: where padding to `to` bytes ends. */
export function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** An error kind from a peer: one we know, else 'internal'. */
export function errorKindOf(x: unknown): ErrorKind {
  return (ERROR_KINDS as readonly unknown[]).includes(x) ? x as ErrorKind : 'internal';
}

/**
 * Walks a frame's payload tensor by tensor, as its header describes them; `end()` checks nothing
 * is left over. With `align` 8 (2.0.0) each tensor after the first starts at the next multiple of
 * 8 bytes, after zero padding, so that every tensor is a view of the frame; 1.0.0 has no padding.
 */
export class PayloadReader {
  readonly #payload: Uint8Array;
  readonly #align: number;
  #off = 0;

  constructor(payload: Uint8Array, align: 1 | 8) {
    this.#payload = payload;
    this.#align = align;
  }

  take(name: string, datatype: string, shape: readonly number[], byteLength: number): Tensor {
    if (!isDataType(datatype)) bad(`tensor '${name}' has an unknown datatype`);
    const start = alignUp(this.#off, this.#align);
    if (start > this.#payload.byteLength) bad(`tensor '${name}' starts past the end of the payload`);
    for (let i = this.#off; i < start; i++) if (this.#payload[i] !== 0) bad(`tensor '${name}' is preceded by padding that is not zero`);
    this.#off = start;
    const left = this.#payload.byteLength - this.#off;
    if (byteLength > left) bad(`tensor '${name}' needs ${byteLength} bytes but only ${left} remain`);
    const t = decodeRawTensor(name, datatype, shape, this.#payload.subarray(this.#off, this.#off + byteLength));
    this.#off += byteLength;
    return t;
  }

  end(): void {
    if (this.#off !== this.#payload.byteLength) bad(`${this.#payload.byteLength - this.#off} trailing bytes after the tensors`);
  }
}
