// Turns a ModelInferResponse into plain values and readable text for `plexus query`.
import type { WireInferResponse } from '../wire/messages.ts';
import { PARAM } from '../wire/params.ts';
import { decodeRawTensor, isDataType } from '../wire/tensor.ts';
import { formatOcr } from './ocr-format.ts';

export type { WireInferResponse } from '../wire/messages.ts';

/** The response's parameters as plain values (int64 beyond 2^53 as decimal strings). */
export function plainParams(res: WireInferResponse): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, p] of Object.entries(res.parameters ?? {})) {
    let v: unknown = p.parameter_choice === undefined ? undefined : p[p.parameter_choice];
    // int64 arrives as a decimal string (longs: String); small ones read better as numbers.
    if ((p.parameter_choice === 'int64_param' || p.parameter_choice === 'uint64_param') && typeof v === 'string' && Number.isSafeInteger(Number(v))) v = Number(v);
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
  }
  return out;
}

/**
 * "served by …X via A → B → X, cost 2, 12.3 ms at the entry node[, verified by …Y]" when the
 * node routed the query; '' otherwise.
 */
export function formatRoute(params: Readonly<Record<string, string | number | boolean>>): string {
  const route = params[PARAM.route];
  if (typeof route !== 'string' || route === '') return '';
  const short = (id: string): string => (id.length > 12 ? `…${id.slice(-8)}` : id);
  const hops = route.split(',').map(short).join(' → ');
  const hopList = params[PARAM.hopMs];
  const hopMs = typeof hopList === 'string' ? hopList.split(',')[0] : undefined;
  const verifiedBy = params[PARAM.verifiedBy];
  const extras = [
    `cost ${String(params[PARAM.cost] ?? 0)}`, ...(hopMs === undefined ? [] : [`${hopMs} ms at the entry node`]),
    ...(typeof verifiedBy === 'string' && verifiedBy !== '' ? [`verified by ${short(verifiedBy)}`] : []),
  ];
  const by = short(String(params[PARAM.servedBy] ?? ''));
  const path = route.includes(',') ? ` via ${hops}` : ' (the node asked)';
  return `served by ${by}${path}, ${extras.join(', ')}\n`;
}

/** "trace 4bf9…" when the node traced the query (plexus.trace_id); '' otherwise. */
export function formatTrace(params: Readonly<Record<string, string | number | boolean>>): string {
  const id = params[PARAM.traceId];
  return typeof id === 'string' && id !== '' ? `trace ${id}\n` : '';
}

export interface PlainOutput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
  /** Numbers, booleans, or strings (BYTES as UTF-8; 64-bit integers as decimal strings). */
  readonly data: (number | boolean | string)[];
}

export function plainOutputs(res: WireInferResponse): PlainOutput[] {
  return res.outputs.map((o, i) => {
    const shape = o.shape.map(Number);
    const raw = res.raw_output_contents[i];
    if (raw !== undefined && isDataType(o.datatype)) {
      const t = decodeRawTensor(o.name, o.datatype, shape, raw);
      const data = Array.isArray(t.data)
        ? t.data.map((b) => Buffer.from(b).toString('utf8'))
        : Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v));
      return { name: o.name, datatype: o.datatype, shape, data };
    }
    const values = (Object.values(o.contents ?? {}) as unknown[]).find((v): v is unknown[] => Array.isArray(v) && v.length > 0) ?? [];
    const data = values.map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v as number | boolean | string));
    return { name: o.name, datatype: o.datatype, shape, data };
  });
}

/** [start, end] pairs in seconds when the output is a `segments` FP32 [N,2] tensor. */
export function segmentsOf(o: PlainOutput): [number, number][] | undefined {
  if (o.name !== 'segments' || o.datatype !== 'FP32' || o.shape.length !== 2 || o.shape[1] !== 2) return undefined;
  const pairs: [number, number][] = [];
  for (let i = 0; i + 1 < o.data.length; i += 2) pairs.push([Number(o.data[i]), Number(o.data[i + 1])]);
  return pairs;
}

export function formatOutputs(model: string, outputs: readonly PlainOutput[]): string {
  const ocr = formatOcr(model, outputs);
  if (ocr !== undefined) return `${ocr.join('\n')}\n`;
  const lines: string[] = [];
  for (const o of outputs) {
    const segments = segmentsOf(o);
    if (segments) {
      lines.push(segments.length === 0 ? `${model}: no speech` : `${model}: ${segments.length} speech segment(s)`);
      for (const [s, e] of segments) lines.push(`speech ${s.toFixed(2)}s – ${e.toFixed(2)}s`);
      continue;
    }
    const shown = o.data.slice(0, 16).map(String).join(', ');
    const more = o.data.length > 16 ? `, … (${o.data.length} values)` : '';
    lines.push(`${o.name} ${o.datatype} [${o.shape.join(',')}]: ${shown}${more}`);
  }
  return `${lines.join('\n')}\n`;
}
