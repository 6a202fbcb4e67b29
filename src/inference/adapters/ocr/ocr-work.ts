// The CPU work of the OCR adapters around their model runs, as tasks a ModelHost runs where the
// models run (model-host.ts): on the input worker thread with a worker host, so DB
// post-processing of a large probability map, the perspective crops of a batch of lines and CTC
// decoding over the 6,625-class dictionary never hold the node's event loop (measured: up to 1 s
// for one 2048-px detection when they ran there). Plain data in and out; large arrays are fresh
// (transferable), and a decoded image lives in a SharedArrayBuffer so every later task reads it
// without a copy.
import { dbBoxes, detInput, type DetectedBox, type DetectOptions, type DetInput } from './detect.ts';
import type { Quad } from './geometry.ts';
import { decodeImage, resizeRgb, type RgbImage } from './image.ts';
import { cropLine, ctcDecode, loadDictionary, recBatch } from './recognize.ts';

export interface RecognizedLine {
  readonly text: string;
  readonly score: number;
}

interface OcrTasks {
  /** Image file bytes to RGB pixels, refused before decoding past maxPixels. */
  image: { in: { readonly bytes: Uint8Array; readonly maxPixels: number }; out: RgbImage };
  /** The detector's input tensor for the image. */
  detInput: { in: { readonly image: RgbImage; readonly maxSide: number }; out: DetInput };
  /** DB post-processing of the detector's [h, w] map into boxes in image coordinates. */
  detBoxes: {
    in: { readonly prob: Float32Array; readonly w: number; readonly h: number; readonly srcW: number; readonly srcH: number; readonly options: DetectOptions };
    out: DetectedBox[];
  };
  /** The quads cropped, rectified and batched as the recognizer's [n,3,48,W] input. */
  recBatch: { in: { readonly image: RgbImage; readonly quads: readonly Quad[] }; out: { width: number; data: Float32Array } };
  /** Greedy CTC decoding of the recognizer's [n, steps, classes] output over a dictionary file. */
  ctc: {
    in: { readonly probs: Float32Array; readonly n: number; readonly steps: number; readonly classes: number; readonly dictionary: string };
    out: RecognizedLine[];
  };
}

export type OcrTask = { [K in keyof OcrTasks]: { readonly kind: K } & OcrTasks[K]['in'] }[keyof OcrTasks];
export type OcrOut<T extends OcrTask> = OcrTasks[T['kind']]['out'];

/** The arrays of a result made for the caller alone (transferred back from a worker). */
export function ocrResultTransferables(r: unknown): ArrayBufferView[] {
  if (typeof r === 'object' && r !== null && 'data' in r && r.data instanceof Float32Array) return [r.data];
  return [];
}

const dictionaries = new Map<string, readonly string[]>();

/** A recognizer's classes (blank, the dictionary file's lines, space), read once per file and thread. */
export function ocrDictionary(file: string): readonly string[] {
  let chars = dictionaries.get(file);
  if (chars === undefined) {
    chars = loadDictionary(file);
    dictionaries.set(file, chars);
  }
  return chars;
}

/** Copy pixels into shared memory: posted to another thread, they are not copied again. */
function shared(img: RgbImage): RgbImage {
  const data = new Uint8Array(new SharedArrayBuffer(img.data.byteLength));
  data.set(img.data);
  return { width: img.width, height: img.height, data };
}

/**
 * Run one task on this thread. `share`: the decoded image goes to shared memory (a worker
 * thread's caller reads it without a copy).
 */
export async function runOcrTask<T extends OcrTask>(t: T, share: boolean): Promise<OcrOut<T>> {
  return (await run(t, share));
}

async function run(t: OcrTask, share: boolean): Promise<OcrOut<OcrTask>> {
  switch (t.kind) {
    case 'image': {
      const img = await decodeImage(t.bytes, t.maxPixels);
      return share ? shared(img) : img;
    }
    case 'detInput':
      return detInput(t.image, t.maxSide, resizeRgb);
    case 'detBoxes':
      return dbBoxes(t.prob, t.w, t.h, t.srcW, t.srcH, t.options);
    case 'recBatch':
      return recBatch(t.quads.map((q) => cropLine(t.image, q)));
    case 'ctc':
      return ctcDecode(t.probs, t.n, t.steps, t.classes, ocrDictionary(t.dictionary));
  }
}
