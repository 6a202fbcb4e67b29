// Recognition of the read adapter reached through the node's router (`ocr: {task: read,
// recognizeVia: CAPABILITY}`): the detected lines go to that capability as ocr.recognize's
// contract (the image plus boxes), cut into chunks of OCR_READ_CHUNK lines sent at once, so one
// image's lines may be read by several providers. The calls go through the step caller, so they
// share the query's deadline and plexus.max_cost and show in plexus.steps like a pipeline's.
import { InferenceFailedError } from '../../../errors.ts';
import type { StepCaller } from '../../pipeline/step-caller.ts';
import type { Tensor } from '../../types.ts';
import type { Quad } from './geometry.ts';
import { OCR_READ_CHUNK } from './ocr-config.ts';

export interface RoutedLine {
  readonly text: string;
  readonly score: number;
}

/** Read `quads` of `image` (the request's image tensor) by calling `capability`; one result per quad, in order. */
export async function recognizeRouted(caller: StepCaller, capability: string, image: Tensor, quads: readonly Quad[]): Promise<RoutedLine[]> {
  if (quads.length === 0) return [];
  const boxes: Tensor = { name: 'boxes', datatype: 'FP32', shape: [quads.length, 4, 2], data: Float32Array.from(quads.flat(2)) };
  const out = await caller.call(capability, [{ ...image, name: 'image' }, boxes], {
    name: 'recognize', outputs: ['text', 'scores'], split: { input: 'boxes', rows: OCR_READ_CHUNK },
  });
  const text = out.get('text');
  const scores = out.get('scores');
  if (text === undefined || !Array.isArray(text.data) || scores === undefined || !(scores.data instanceof Float32Array)
    || text.data.length !== quads.length || scores.data.length !== quads.length) {
    throw new InferenceFailedError(`'${capability}' answered ${describe(text)} and ${describe(scores)} for ${quads.length} boxes; expected text BYTES [${quads.length}] and scores FP32 [${quads.length}]`);
  }
  const decoder = new TextDecoder();
  const texts = text.data as Uint8Array[];
  const s = scores.data;
  return quads.map((_, i) => ({ text: decoder.decode(texts[i]), score: s[i] ?? 0 }));
}

const describe = (t: Tensor | undefined): string => (t === undefined ? 'no tensor' : `${t.name} ${t.datatype} [${t.shape.join(',')}]`);
