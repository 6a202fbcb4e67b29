// Do two answers to the same query agree? Exact for integers, booleans and bytes; floats within
// an absolute tolerance per model (ONNX Runtime runs may differ in the last bits between
// batch sizes and machines; speech.vad segments in seconds agree within a few ms).
import type { Tensor } from '../../inference/types.ts';

/** Default float tolerance, and per model or capability overrides (seconds for speech.vad). */
export const DEFAULT_FLOAT_TOLERANCE = 1e-4;
export const DEFAULT_TOLERANCES: Readonly<Record<string, number>> = { 'speech.vad': 0.005, 'silero-vad-segments': 0.005 };

export type Comparison = { readonly same: true } | { readonly same: false; readonly why: string };

function isFloat(t: Tensor): boolean {
  return t.datatype === 'FP32' || t.datatype === 'FP64' || t.datatype === 'FP16' || t.datatype === 'BF16';
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function compareTensor(a: Tensor, b: Tensor, tolerance: number): Comparison {
  if (a.datatype !== b.datatype || a.shape.join(',') !== b.shape.join(',')) {
    return { same: false, why: `output '${a.name}': ${a.datatype}[${a.shape.join(',')}] vs ${b.datatype}[${b.shape.join(',')}]` };
  }
  const da = a.data;
  const db = b.data;
  if (Array.isArray(da) || Array.isArray(db)) {
    if (!Array.isArray(da) || !Array.isArray(db) || da.length !== db.length) return { same: false, why: `output '${a.name}': element counts differ` };
    for (let i = 0; i < da.length; i++) {
      const x = da[i];
      const y = db[i];
      if (x === undefined || y === undefined || !bytesEqual(x, y)) return { same: false, why: `output '${a.name}'[${i}]: bytes differ` };
    }
    return { same: true };
  }
  if (da.length !== db.length) return { same: false, why: `output '${a.name}': element counts differ` };
  // FP16/BF16 are stored as raw 16-bit words: compared exactly (a tolerance needs decoding).
  const tol = isFloat(a) && a.datatype !== 'FP16' && a.datatype !== 'BF16' ? tolerance : 0;
  for (let i = 0; i < da.length; i++) {
    const x = da[i];
    const y = db[i];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number' && (Math.abs(x - y) <= tol || (Number.isNaN(x) && Number.isNaN(y)))) continue;
    return { same: false, why: `output '${a.name}'[${i}]: ${String(x)} vs ${String(y)} (tolerance ${tol})` };
  }
  return { same: true };
}

/** Compare two answers output by output (matched by name). */
export function compareOutputs(a: readonly Tensor[], b: readonly Tensor[], tolerance = DEFAULT_FLOAT_TOLERANCE): Comparison {
  if (a.length !== b.length) return { same: false, why: `${a.length} outputs vs ${b.length}` };
  for (const t of a) {
    const u = b.find((x) => x.name === t.name);
    if (u === undefined) return { same: false, why: `output '${t.name}' missing from the other answer` };
    const c = compareTensor(t, u, tolerance);
    if (!c.same) return c;
  }
  return { same: true };
}

/** The float tolerance for a model: an override by its name or by the name asked for, else the default. */
export function toleranceFor(overrides: Readonly<Record<string, number>>, ...names: readonly string[]): number {
  for (const n of names) {
    const t = overrides[n] ?? DEFAULT_TOLERANCES[n];
    if (t !== undefined) return t;
  }
  return DEFAULT_FLOAT_TOLERANCE;
}
