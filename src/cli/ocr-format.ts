// How `plexus query` shows OCR answers: ocr.read / ocr.recognize as the recognised lines of text,
// one per line; ocr.detect as its boxes (four corners in pixels) with their scores.

/** An output as the CLI holds it (BYTES as UTF-8 strings). */
export interface OutputValues {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number | boolean | string | bigint>;
}

export interface OcrBox {
  /** Four [x, y] corners: top-left, top-right, bottom-right, bottom-left. */
  readonly corners: [number, number][];
  readonly score: number | undefined;
}

/** The `text` BYTES [N] output's lines, or undefined when there is none. */
export function ocrText(outputs: readonly OutputValues[]): string[] | undefined {
  const t = outputs.find((o) => o.name === 'text' && o.datatype === 'BYTES' && o.shape.length === 1);
  return t === undefined ? undefined : Array.from(t.data, String);
}

/** The `boxes` FP32 [N,4,2] output with `scores` [N] beside it, or undefined when there is none. */
export function ocrBoxes(outputs: readonly OutputValues[]): OcrBox[] | undefined {
  const b = outputs.find((o) => o.name === 'boxes' && o.datatype === 'FP32' && o.shape.length === 3 && o.shape[1] === 4 && o.shape[2] === 2);
  if (b === undefined) return undefined;
  const scores = outputs.find((o) => o.name === 'scores' && o.shape.length === 1);
  const n = b.shape[0] ?? 0;
  return Array.from({ length: n }, (_, i) => ({
    corners: Array.from({ length: 4 }, (_unused, c): [number, number] => [Number(b.data[i * 8 + c * 2]), Number(b.data[i * 8 + c * 2 + 1])]),
    score: scores === undefined ? undefined : Number(scores.data[i]),
  }));
}

const px = (v: number): string => String(Math.round(v));

/** "score 0.998  (23,33) (281,33) (281,63) (23,63)" */
export function formatBox(box: OcrBox): string {
  const corners = box.corners.map(([x, y]) => `(${px(x)},${px(y)})`).join(' ');
  return box.score === undefined ? corners : `score ${box.score.toFixed(3)}  ${corners}`;
}

/**
 * The readable form of an OCR answer, or undefined when the outputs are not one: the lines of
 * text when there are (a model with no line found says so), else the boxes.
 */
export function formatOcr(model: string, outputs: readonly OutputValues[]): string[] | undefined {
  const text = ocrText(outputs);
  if (text !== undefined) return text.length === 0 ? [`${model}: no text`] : text;
  const boxes = ocrBoxes(outputs);
  if (boxes === undefined) return undefined;
  return [`${model}: ${boxes.length} text box(es)`, ...boxes.map((b, i) => `box ${i + 1}  ${formatBox(b)}`)];
}

/** One line for a file of a directory run: "2 line(s): HELLO WORLD | PLEXUS 2026" or "3 text box(es)". */
export function describeOcr(outputs: readonly OutputValues[]): string | undefined {
  const text = ocrText(outputs);
  if (text !== undefined) return text.length === 0 ? 'no text' : `${text.length} line(s): ${text.join(' | ')}`;
  const boxes = ocrBoxes(outputs);
  return boxes === undefined ? undefined : `${boxes.length} text box(es)`;
}

/** The JSON fields an OCR answer adds beside the tensors: `text`, and `boxes` as corners with scores. */
export function ocrJson(outputs: readonly OutputValues[]): { text?: string[]; boxes?: { corners: [number, number][]; score?: number }[] } {
  const text = ocrText(outputs);
  const boxes = ocrBoxes(outputs);
  return {
    ...(text === undefined ? {} : { text }),
    ...(boxes === undefined ? {} : { boxes: boxes.map((b) => ({ corners: b.corners, ...(b.score === undefined ? {} : { score: b.score }) })) }),
  };
}
