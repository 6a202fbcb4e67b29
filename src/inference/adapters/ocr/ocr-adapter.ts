// Capabilities ocr.detect, ocr.recognize and ocr.read on the PP-OCRv4 det and rec models.
// `recognize` takes the image plus the boxes to read (any subset of what detect found), so the
// lines of one image can be spread over several providers. `read` is detect then recognize in
// one adapter, or detect here and recognition routed to a capability anywhere in the cluster
// (`recognizeVia`, routed-recognize.ts). Each model step holds one slot of its raw model's
// limiter (queue and limit).
import { CancelledError, ConfigError, DeadlineExceededError, InferenceFailedError, InvalidInputError, MessageTooLargeError } from '../../../errors.ts';
import type { AdapterModelSpec } from '../../config.ts';
import { createEwma } from '../../ewma.ts';
import { applyFault } from '../../fault.ts';
import type { HostedModel } from '../../hosted-model.ts';
import type { OrtModel } from '../../ort-model.ts';
import { stepsFor, type StepDispatcher } from '../../pipeline/step-caller.ts';
import type { AcquireOptions } from '../../run-limiter.ts';
import type { RunOptions } from '../../run-phases.ts';
import type { ModelInfo, Tensor, TensorSpec } from '../../types.ts';
import { giveAway } from '../../model-host.ts';
import type { DetectedBox } from './detect.ts';
import type { Quad } from './geometry.ts';
import type { RgbImage } from './image.ts';
import { builtinOcrDictionaryPath, type OcrAdapterSpec } from './ocr-config.ts';
import { ocrDictionary, type RecognizedLine } from './ocr-work.ts';
import { lineShape, REC_HEIGHT } from './recognize.ts';
import { recognizeRouted } from './routed-recognize.ts';

type OcrModelSpec = AdapterModelSpec & { readonly adapter: OcrAdapterSpec };

const IMAGE: TensorSpec = { name: 'image', datatype: 'BYTES', shape: [1] };
const BOXES: TensorSpec = { name: 'boxes', datatype: 'FP32', shape: [-1, 4, 2] };
const SCORES: TensorSpec = { name: 'scores', datatype: 'FP32', shape: [-1] };
const TEXT: TensorSpec = { name: 'text', datatype: 'BYTES', shape: [-1] };
/** Boxes one recognize request may ask for (detection keeps at most as many candidates). */
export const MAX_BOXES = 1000;
/** Lines per recognition run (PaddleOCR's rec_batch_num). */
const REC_BATCH = 6;

const SIGNATURES = {
  detect: { inputs: [IMAGE], outputs: [BOXES, SCORES] },
  recognize: { inputs: [IMAGE, BOXES], outputs: [TEXT, SCORES] },
  read: { inputs: [IMAGE], outputs: [TEXT, BOXES, SCORES] },
} as const;

function checkRaw(spec: OcrModelSpec, raw: OrtModel, role: 'detector' | 'recognizer'): void {
  const input = raw.inputs[0];
  const ok = raw.inputs.length === 1 && input?.datatype === 'FP32' && input.shape.length === 4 && raw.outputs.length === 1
    && (role === 'detector' || input.shape[2] === REC_HEIGHT);
  if (!ok) throw new ConfigError(`models: OCR adapter '${spec.name}' needs a PP-OCR ${role} model (one FP32 input [n,3,h,w]${role === 'recognizer' ? ' with h = 48' : ''}); '${raw.spec.name}' is not one`);
}

/** Hold one slot of the raw model, apply the adapter's fault, run once. */
async function runOn(raw: OrtModel, feed: Float32Array, shape: number[], opts: AcquireOptions): Promise<Tensor> {
  if (opts.signal?.aborted === true) throw new CancelledError(`request to '${raw.spec.name}' was cancelled`);
  if (opts.deadline !== undefined && Date.now() >= opts.deadline) throw new DeadlineExceededError(`deadline passed before '${raw.spec.name}' could run`);
  const release = await raw.limiter.acquire(opts);
  try {
    const input = raw.inputs[0]?.name ?? 'x';
    const output = raw.outputs[0]?.name ?? '';
    const [out] = await raw.runHeld([{ name: input, datatype: 'FP32', shape, data: feed }], [output]);
    if (out === undefined || !(out.data instanceof Float32Array)) throw new InferenceFailedError(`model '${raw.spec.name}' returned no FP32 output`);
    return out;
  } finally {
    release();
  }
}

// The image work runs where the models run (raw.host.ocr: the input worker thread with a worker
// host), so none of it holds the event loop; the arrays it hands back are given to the model run.
async function detect(det: OrtModel, img: RgbImage, a: OcrAdapterSpec, opts: AcquireOptions): Promise<DetectedBox[]> {
  const input = await det.host.ocr({ kind: 'detInput', image: img, maxSide: a.maxSide }, opts);
  const out = await runOn(det, giveAway(input.data), [1, 3, input.h, input.w], opts);
  if (out.data.length !== input.w * input.h) throw new InferenceFailedError(`model '${det.spec.name}' returned a ${out.shape.join('x')} map for a ${input.w}x${input.h} input`);
  const options = { maxSide: a.maxSide, threshold: a.threshold, boxThreshold: a.boxThreshold, unclipRatio: a.unclipRatio };
  return det.host.ocr({ kind: 'detBoxes', prob: out.data as Float32Array, w: input.w, h: input.h, srcW: img.width, srcH: img.height, options }, opts);
}

async function recognize(rec: OrtModel, img: RgbImage, quads: readonly Quad[], opts: AcquireOptions): Promise<RecognizedLine[]> {
  // Lines of similar width batch together with little padding; each batch is cropped when it runs.
  const widths = quads.map((q) => lineShape(q).width);
  const order = quads.map((_, i) => i).sort((x, y) => (widths[x] ?? 0) - (widths[y] ?? 0));
  const results = new Array<RecognizedLine>(quads.length);
  const dictionary = builtinOcrDictionaryPath();
  for (let k = 0; k < order.length; k += REC_BATCH) {
    const idx = order.slice(k, k + REC_BATCH);
    const batch = await rec.host.ocr({ kind: 'recBatch', image: img, quads: idx.map((i) => quads[i] as Quad) }, opts);
    const out = await runOn(rec, giveAway(batch.data), [idx.length, 3, REC_HEIGHT, batch.width], opts);
    const [n, steps, classes] = out.shape as [number, number, number];
    if (out.shape.length !== 3 || n !== idx.length || classes !== ocrDictionary(dictionary).length) {
      throw new InferenceFailedError(`model '${rec.spec.name}' returned [${out.shape.join(',')}]; expected [${idx.length}, T, ${ocrDictionary(dictionary).length}] for its dictionary`);
    }
    const lines = await rec.host.ocr({ kind: 'ctc', probs: out.data as Float32Array, n, steps, classes, dictionary }, opts);
    lines.forEach((r, j) => { results[idx[j] as number] = r; });
  }
  return results;
}

/** Boxes from an FP32 [N,4,2] tensor: finite numbers, clipped to the image. */
function quadsOf(t: Tensor, img: RgbImage): Quad[] {
  const d = t.data;
  if (!(d instanceof Float32Array)) throw new InvalidInputError(`input 'boxes': expected FP32 [N,4,2]`);
  if (d.length / 8 > MAX_BOXES) throw new MessageTooLargeError(`input 'boxes': ${d.length / 8} boxes; at most ${MAX_BOXES} per request`);
  const quads: Quad[] = [];
  for (let n = 0; n < d.length / 8; n++) {
    const pts = [0, 1, 2, 3].map((k) => {
      const x = d[n * 8 + 2 * k] ?? NaN, y = d[n * 8 + 2 * k + 1] ?? NaN;
      if (!Number.isFinite(x) || !Number.isFinite(y)) throw new InvalidInputError(`input 'boxes': box ${n} has a non-finite coordinate`);
      return [Math.min(Math.max(x, 0), img.width), Math.min(Math.max(y, 0), img.height)] as const;
    });
    quads.push(pts as unknown as Quad);
  }
  return quads;
}

const boxesTensor = (quads: readonly Quad[]): Tensor => ({ name: 'boxes', datatype: 'FP32', shape: [quads.length, 4, 2], data: Float32Array.from(quads.flat(2)) });
const scoresTensor = (s: readonly number[]): Tensor => ({ name: 'scores', datatype: 'FP32', shape: [s.length], data: Float32Array.from(s) });
const textTensor = (t: readonly string[]): Tensor => ({ name: 'text', datatype: 'BYTES', shape: [t.length], data: t.map((x) => new TextEncoder().encode(x)) });

/** `steps`: where a read adapter with `recognizeVia` sends recognition (the node's router). */
export function createOcrAdapter(spec: OcrModelSpec, raws: readonly OrtModel[], steps?: StepDispatcher): HostedModel {
  const a = spec.adapter;
  const det = a.task === 'recognize' ? undefined : raws[0];
  const rec = a.task === 'detect' || a.recognizeVia !== undefined ? undefined : raws[a.task === 'read' ? 1 : 0];
  if (a.recognizeVia !== undefined && steps === undefined) throw new ConfigError(`models: OCR adapter '${spec.name}' routes recognition to '${a.recognizeVia}' but has no step dispatcher`);
  if (det !== undefined) checkRaw(spec, det, 'detector');
  if (rec !== undefined) checkRaw(spec, rec, 'recognizer');
  if (rec !== undefined) ocrDictionary(builtinOcrDictionaryPath()); // read once at load: a missing dictionary is a load error
  const primary = raws[0] as OrtModel;
  const compute = createEwma(0.2);
  const info: ModelInfo = {
    name: spec.name, version: spec.version, platform: 'plexus_adapter', capabilities: spec.capabilities,
    ...SIGNATURES[a.task], requestedProvider: primary.spec.provider, provider: primary.provider, price: spec.price, ready: true,
  };

  async function compute1(inputs: readonly Tensor[], opts: RunOptions): Promise<Tensor[]> {
    const i0 = performance.now();
    const image = inputs.find((t) => t.name === 'image');
    const bytes = image !== undefined && Array.isArray(image.data) ? image.data[0] : undefined;
    if (bytes === undefined) throw new InvalidInputError(`input 'image': expected one BYTES element holding a PNG or JPEG file`);
    const img = await primary.host.ocr({ kind: 'image', bytes, maxPixels: a.maxPixels }, opts);
    if (opts.phases !== undefined) opts.phases.inputMs += performance.now() - i0;
    await applyFault(spec.name, spec.fault, opts);
    if (a.task === 'recognize') {
      const boxes = inputs.find((t) => t.name === 'boxes');
      if (boxes === undefined) throw new InvalidInputError(`input 'boxes': missing; expected FP32 [N,4,2]`);
      const lines = await recognize(rec as OrtModel, img, quadsOf(boxes, img), opts);
      return [textTensor(lines.map((l) => l.text)), scoresTensor(lines.map((l) => l.score))];
    }
    const found = await detect(det as OrtModel, img, a, opts);
    const quads = found.map((b) => b.quad);
    if (a.task === 'detect') return [boxesTensor(quads), scoresTensor(found.map((b) => b.score))];
    const lines = a.recognizeVia === undefined || steps === undefined ? await recognize(rec as OrtModel, img, quads, opts) : await routed(a.recognizeVia, steps, image as Tensor, quads, opts);
    return [textTensor(lines.map((l) => l.text)), boxesTensor(quads), scoresTensor(lines.map((l) => l.score))];
  }

  /** Recognition through the router: recorded in plexus.steps, within the query's deadline and plexus.max_cost. */
  async function routed(capability: string, dispatch: StepDispatcher, image: Tensor, quads: readonly Quad[], opts: RunOptions): Promise<{ text: string; score: number }[]> {
    const { caller, report } = stepsFor(`adapter '${spec.name}'`, spec, dispatch, opts);
    try {
      return await recognizeRouted(caller, capability, image, quads);
    } finally {
      report();
    }
  }

  async function run(inputs: readonly Tensor[], outputs: readonly string[], opts: RunOptions): Promise<Tensor[]> {
    const { phases } = opts;
    const input0 = phases?.inputMs ?? 0;
    const started = performance.now();
    const all = await compute1(inputs, opts);
    const ended = performance.now();
    compute.add(ended - started);
    const answer = outputs.length === 0 ? all : all.filter((t) => outputs.includes(t.name));
    if (phases !== undefined) {
      // The image decode counted as input preparation; the detection and recognition steps (with
      // their waits for the raw models' slots, and the tensors they end in) are its execution.
      phases.executeMs = ended - started - (phases.inputMs - input0);
      phases.outputMs += performance.now() - ended;
    }
    return answer;
  }

  return {
    info, run,
    stats: () => ({
      name: spec.name, computeMs: compute.value, inFlight: primary.limiter.inFlight, queued: primary.limiter.queued,
      maxConcurrent: primary.limiter.maxConcurrent, maxQueue: primary.limiter.maxQueue,
    }),
    // The raw models own the sessions and limiters; they drain them.
    close: () => Promise.resolve(),
  };
}
