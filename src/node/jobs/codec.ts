// How an item's query and its answer are kept in the job store: a JSON text (model, version,
// parameters, tensor descriptors) plus one blob with the tensors' KServe raw bytes back to back.
// Pure: no SQLite here, so the round trip is unit tested on its own.
import { InvalidInputError } from '../../errors.ts';
import { decodeRawTensor, encodeRawTensor, isDataType } from '../../wire/tensor.ts';
import type { InferResult, Params, Tensor } from '../../inference/types.ts';
import { isRecord } from '../wire-guards.ts';

export interface StoredQuery {
  readonly model: string;
  readonly version?: string;
  readonly outputs: readonly string[];
  readonly parameters: Params;
  readonly inputs: readonly Tensor[];
}

export interface StoredAnswer {
  readonly model: string;
  readonly version: string;
  readonly parameters: Params;
  readonly outputs: readonly Tensor[];
}

export interface Encoded {
  readonly text: string;
  readonly blob: Uint8Array;
}

interface TensorMeta { readonly name: string; readonly datatype: string; readonly shape: readonly number[]; readonly bytes: number }

function packTensors(tensors: readonly Tensor[]): { meta: TensorMeta[]; blob: Uint8Array } {
  const parts = tensors.map((t) => encodeRawTensor(t));
  const blob = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) { blob.set(p, off); off += p.byteLength; }
  return { meta: tensors.map((t, i) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape], bytes: parts[i]?.byteLength ?? 0 })), blob };
}

function unpackTensors(meta: unknown, blob: Uint8Array): Tensor[] {
  if (!Array.isArray(meta)) throw new InvalidInputError('stored item: tensors missing');
  let off = 0;
  return meta.map((m: unknown) => {
    if (!isRecord(m) || typeof m['name'] !== 'string' || typeof m['datatype'] !== 'string' || !isDataType(m['datatype'])
      || !Array.isArray(m['shape']) || typeof m['bytes'] !== 'number') {
      throw new InvalidInputError('stored item: malformed tensor descriptor');
    }
    const bytes = blob.subarray(off, off + m['bytes']);
    off += m['bytes'];
    return decodeRawTensor(m['name'], m['datatype'], (m['shape'] as unknown[]).map(Number), bytes);
  });
}

export function encodeQuery(q: StoredQuery): Encoded {
  const { meta, blob } = packTensors(q.inputs);
  return { text: JSON.stringify({ model: q.model, version: q.version, outputs: q.outputs, parameters: q.parameters, tensors: meta }), blob };
}

export function decodeQuery(text: string, blob: Uint8Array): StoredQuery {
  const o: unknown = JSON.parse(text);
  if (!isRecord(o) || typeof o['model'] !== 'string' || !isRecord(o['parameters']) || !Array.isArray(o['outputs'])) {
    throw new InvalidInputError('stored item: malformed query');
  }
  return {
    model: o['model'],
    ...(typeof o['version'] === 'string' ? { version: o['version'] } : {}),
    outputs: o['outputs'].map(String),
    parameters: o['parameters'] as Params,
    inputs: unpackTensors(o['tensors'], blob),
  };
}

export function encodeAnswer(r: InferResult): Encoded {
  const { meta, blob } = packTensors(r.outputs);
  return { text: JSON.stringify({ model: r.model, version: r.version, parameters: r.parameters, tensors: meta }), blob };
}

export function decodeAnswer(text: string, blob: Uint8Array): StoredAnswer {
  const o: unknown = JSON.parse(text);
  if (!isRecord(o) || typeof o['model'] !== 'string' || !isRecord(o['parameters'])) throw new InvalidInputError('stored item: malformed answer');
  return { model: o['model'], version: typeof o['version'] === 'string' ? o['version'] : '', parameters: o['parameters'] as Params, outputs: unpackTensors(o['tensors'], blob) };
}
