// Messages between the main thread (worker-host.ts) and a model worker (ort-worker.ts). Plain
// data only; tensor bytes travel as transferred ArrayBuffers wherever the sender may give them up.
import type { OcrOut, OcrTask } from '../adapters/ocr/ocr-work.ts';
import type { AudioLimits } from '../config.ts';
import type { SessionRun, SessionSpecOf, ValueMeta } from '../ort-session.ts';
import type { ExecutionProvider, Tensor } from '../types.ts';

export type WorkerRequest =
  | { readonly op: 'load'; readonly id: number; readonly session: number; readonly spec: SessionSpecOf }
  | { readonly op: 'run'; readonly id: number; readonly session: number; readonly model: string; readonly feeds: readonly Tensor[]; readonly fetches: readonly string[]; readonly deadline?: number }
  | { readonly op: 'release'; readonly id: number; readonly session: number }
  | { readonly op: 'decode'; readonly id: number; readonly wav: Uint8Array; readonly targetRate: number; readonly limits: AudioLimits; readonly deadline?: number }
  | { readonly op: 'ocr'; readonly id: number; readonly task: OcrTask }
  | { readonly op: 'cancel'; readonly id: number };

export interface LoadedReply {
  readonly provider: ExecutionProvider;
  readonly inputs: readonly ValueMeta[];
  readonly outputs: readonly ValueMeta[];
  readonly fallback?: string;
}

/** An error as it crosses the thread boundary: the PlexusError's class name, and ORT's own message when it caused it. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly cause?: string;
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: LoadedReply | SessionRun | Float32Array | OcrOut<OcrTask> | null }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

/** Push the ArrayBuffer behind `a` to `transfer` when `a` covers all of it; else return a copy that does. */
export function transferable<T extends Exclude<Tensor['data'], Uint8Array[]>>(a: T, mayTake: boolean, transfer: ArrayBuffer[]): T {
  if (mayTake && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer && !transfer.includes(a.buffer)) {
    transfer.push(a.buffer);
    return a;
  }
  // A byte copy into a buffer of its own (never `slice`: on a Node Buffer that is a view).
  const buf = new ArrayBuffer(a.byteLength);
  new Uint8Array(buf).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  transfer.push(buf);
  return new (arrayClass(a))(buf) as T;
}

type ArrayClass = new (buffer: ArrayBuffer) => Exclude<Tensor['data'], Uint8Array[]>;
const ARRAY_CLASSES: readonly ArrayClass[] = [
  Float32Array, Float64Array, Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array,
];

/** The plain typed-array class of `a` (a Node Buffer is a Uint8Array). */
function arrayClass(a: Exclude<Tensor['data'], Uint8Array[]>): ArrayClass {
  return ARRAY_CLASSES.find((C) => a instanceof C) ?? Uint8Array;
}

/** A tensor ready to post: its bytes transferred (taken when `mayTake`, else copied once). */
export function packTensor(t: Tensor, mayTake: boolean, transfer: ArrayBuffer[]): Tensor {
  if (Array.isArray(t.data)) return { name: t.name, datatype: t.datatype, shape: t.shape, data: t.data.map((b) => transferable(b, mayTake, transfer)) };
  return { name: t.name, datatype: t.datatype, shape: t.shape, data: transferable(t.data, mayTake, transfer) };
}
