// Scenario: OCR (issue 12). Accuracy of ocr.read on images the bench renders itself (DejaVu
// faces, 14–48 pt, 1–4 lines of English words and numbers, a third rotated 2–5°, a third with
// Gaussian noise; seeded, the same every run), and latency of ocr.read end to end and of its
// steps (ocr.detect, ocr.recognize), local (one node hosts everything) vs spread (X detects,
// Y recognises, P runs the ocr.read pipeline and is asked), side by side: each image goes
// through both placements in turn, one query at a time.
import { performance } from 'node:perf_hooks';
import { accuracy, ocrErrors, type OcrAccuracy, type OcrErrors } from '../ocr/accuracy.ts';
import { ocrImageSet, type OcrImageSpec } from '../ocr/image-set.ts';
import { createOcrClient, type OcrClient } from '../ocr/ocr-client.ts';
import { renderImages, type RenderedImage } from '../ocr/render.ts';
import { startLocal, startSpread, type Placement } from '../ocr/setups.ts';
import { tallySteps, type StepTally } from '../ocr/steps.ts';
import { requireProjectFiles } from '../procs.ts';
import { round, summarize } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';

const SEED = 12;
const LATENCY_COLUMNS = ['n', 'errors', 'p50Ms', 'p90Ms', 'p99Ms', 'meanMs', 'maxMs'] as const;
const ACCURACY_COLUMNS = ['images', 'charAcc', 'charAccNoSpaces', 'wordAcc', 'wordsFound', 'exactImages'] as const;

/** What one placement measured over the image set. */
interface Measured {
  readonly read: number[];
  readonly detect: number[];
  readonly recognize: number[];
  readonly errors: Map<string, number>;
  firstError: string | undefined;
  readonly perImage: { spec: OcrImageSpec; errors: OcrErrors; text: string[] }[];
  readonly steps: Map<string, StepTally>;
}

const fresh = (): Measured => ({ read: [], detect: [], recognize: [], errors: new Map(), firstError: undefined, perImage: [], steps: new Map() });

async function attempt(m: Measured, what: string, f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (e) {
    m.errors.set(what, (m.errors.get(what) ?? 0) + 1);
    m.firstError ??= `${what}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** ocr.read, then ocr.detect and ocr.recognize on its own, on one image, through one placement's client. */
async function measureImage(client: OcrClient, img: RenderedImage, m: Measured): Promise<void> {
  await attempt(m, 'ocr.read', async () => {
    const r = await client.read(img.png);
    m.read.push(r.ms);
    m.perImage.push({ spec: img.spec, errors: ocrErrors(img.spec.lines, r.value.text), text: r.value.text });
    tallySteps(m.steps, r.value.steps);
  });
  let boxes: number[] = [];
  await attempt(m, 'ocr.detect', async () => {
    const d = await client.detect(img.png);
    m.detect.push(d.ms);
    boxes = d.value;
  });
  if (boxes.length > 0) await attempt(m, 'ocr.recognize', async () => { m.recognize.push((await client.recognize(img.png, boxes)).ms); });
}

function latencyRow(label: string, samples: readonly number[], errors: number): ResultRow {
  const s = summarize(samples);
  return { label, values: { n: s.n, errors, p50Ms: round(s.p50), p90Ms: round(s.p90), p99Ms: round(s.p99), meanMs: round(s.mean), maxMs: round(s.max) } };
}

function accuracyRow(label: string, a: OcrAccuracy): ResultRow {
  const pct = (v: number): number | null => round(100 * v);
  return {
    label,
    values: { images: a.images, charAcc: pct(a.charAccuracy), charAccNoSpaces: pct(a.charAccuracyNoSpaces), wordAcc: pct(a.wordAccuracy), wordsFound: pct(a.wordsFound), exactImages: a.exactImages },
  };
}

const SUBSETS: [string, (s: OcrImageSpec) => boolean][] = [
  ['upright, clean', (s) => s.rotate === 0 && s.noise === 0],
  ['rotated 2–5°', (s) => s.rotate !== 0],
  ['noisy', (s) => s.noise > 0],
  ['≤ 20 pt', (s) => s.pointSize <= 20],
  ['≥ 40 pt', (s) => s.pointSize >= 40],
];

function report(p: Placement, m: Measured, rows: ResultRow[], metrics: Record<string, number | null>, notes: string[]): void {
  const all = accuracy(m.perImage.map((x) => x.errors));
  rows.push(accuracyRow(`${p.label}: ocr.read accuracy, all images`, all));
  if (p.label === 'local') {
    for (const [name, f] of SUBSETS) rows.push(accuracyRow(`${p.label}: ocr.read accuracy, ${name}`, accuracy(m.perImage.filter((x) => f(x.spec)).map((x) => x.errors))));
  }
  const err = (k: string): number => m.errors.get(k) ?? 0;
  rows.push(latencyRow(`${p.label}: ocr.read end to end (caller)`, m.read, err('ocr.read')));
  for (const [cap, t] of m.steps) {
    const who = [...t.servedBy].map(([peer, n]) => `${p.roles.get(peer) ?? peer.slice(-8)}×${n}`).join(', ');
    rows.push(latencyRow(`${p.label}: ${cap} step in ocr.read (plexus.steps ms per call)`, t.ms, 0));
    notes.push(`${p.label}: ${cap} step calls per query ${summarize(t.callsPerQuery).mean.toFixed(2)} (mean), served by ${who}.`);
  }
  rows.push(latencyRow(`${p.label}: ocr.detect alone (caller)`, m.detect, err('ocr.detect')));
  rows.push(latencyRow(`${p.label}: ocr.recognize alone, all boxes (caller)`, m.recognize, err('ocr.recognize')));
  const k = p.label === 'local' ? 'ocrLocal' : 'ocrSpread';
  metrics[`${k}CharAcc`] = all.charAccuracy;
  metrics[`${k}CharAccNoSpaces`] = all.charAccuracyNoSpaces;
  metrics[`${k}WordAcc`] = all.wordAccuracy;
  metrics[`${k}WordsFound`] = all.wordsFound;
  metrics[`${k}ReadP50Ms`] = summarize(m.read).p50;
  metrics[`${k}DetectP50Ms`] = summarize(m.detect).p50;
  metrics[`${k}RecognizeP50Ms`] = summarize(m.recognize).p50;
  if (m.firstError !== undefined) notes.push(`${p.label}: ${[...m.errors.values()].reduce((a, b) => a + b, 0)} failed calls, first: ${m.firstError}`);
  if (p.label === 'local') {
    const wrong = m.perImage.filter((x) => x.errors.charEditsNoSpace > 0);
    notes.push(`local: ${wrong.length} image(s) with errors other than spaces${wrong.length > 0 ? ':' : '.'}`);
    for (const x of wrong.slice(0, 6)) notes.push(`local, error other than spaces: ${x.spec.id} (${x.spec.font} ${x.spec.pointSize} pt, rotate ${x.spec.rotate}°, noise ${x.spec.noise}): ${JSON.stringify(x.spec.lines)} read ${JSON.stringify(x.text)}.`);
  }
}

/** How many images both placements read to the same lines. */
function sameText(a: Measured, b: Measured): string {
  const other = new Map(b.perImage.map((x) => [x.spec.id, JSON.stringify(x.text)]));
  const same = a.perImage.filter((x) => other.get(x.spec.id) === JSON.stringify(x.text)).length;
  return `local and spread read the same lines on ${same} of ${a.perImage.length} images.`;
}

async function measureAll(placements: readonly Placement[], images: readonly RenderedImage[], ctx: ScenarioContext): Promise<Measured[]> {
  const out = placements.map(fresh);
  // One channel per placement, opened (and its connection made) before the first timed call.
  const clients = placements.map((p) => createOcrClient(p.entry.grpc));
  try {
    await Promise.all(clients.map((c) => c.detect((images[0] as RenderedImage).png)));
    for (const [i, img] of images.entries()) {
      if (i % 8 === 0) ctx.log(`ocr: image ${i + 1}/${images.length}`);
      for (const [j, c] of clients.entries()) await measureImage(c, img, out[j] as Measured);
    }
  } finally {
    for (const c of clients) c.close();
  }
  return out;
}

export const ocrScenario: Scenario = {
  name: 'ocr',
  title: 'OCR: ocr.read accuracy on rendered images; ocr.read and per-step latency, local vs spread over three nodes (one query at a time)',
  async run(ctx): Promise<ScenarioResult> {
    requireProjectFiles(['src/inference/adapters/ocr/ocr-config.ts']);
    const started = performance.now();
    const images = await renderImages(ocrImageSet(ctx.quick ? 12 : 24, SEED));
    const [warm] = await renderImages(ocrImageSet(1, SEED + 1));
    if (warm === undefined) throw new Error('no warm-up image');
    const rows: ResultRow[] = [];
    const metrics: Record<string, number | null> = {};
    const notes: string[] = [
      `${images.length} images rendered by ImageMagick (seed ${SEED}): 8 DejaVu faces, 14–48 pt, 1–4 lines; ${images.filter((i) => i.spec.rotate !== 0).length} rotated 2–5°, ${images.filter((i) => i.spec.noise > 0).length} with Gaussian noise.`,
      'Accuracy in %, case-sensitive, over the image\'s lines joined by spaces: charAcc = 1 − edits/characters; charAccNoSpaces the same with every space removed (the Chinese+Latin PP-OCRv4 recogniser rarely emits spaces between Latin words); wordAcc = 1 − word error rate; wordsFound = reference words found in order in the text with spaces removed.',
      'Latency: each image is read at each placement in turn, one query at a time; "alone" rows are separate ocr.detect / ocr.recognize calls from the caller to the asked node.',
    ];
    ctx.log('ocr: starting the local node and the spread placement (X, Y, P)');
    const placements: Placement[] = [await startLocal(warm.png)];
    try {
      const spread = await startSpread(warm.png);
      if (typeof spread === 'string') notes.push(`spread: not measured: ${spread}`);
      else placements.push(spread);
      const measured = await measureAll(placements, images, ctx);
      placements.forEach((p, i) => { report(p, measured[i] as Measured, rows, metrics, notes); });
      if (measured.length === 2) notes.push(sameText(measured[0] as Measured, measured[1] as Measured));
      if (typeof spread === 'string') rows.push({ label: 'spread (X detect, Y recognize, P ocr.read pipeline): not measured, see notes', values: {} });
    } finally {
      await Promise.all(placements.map((p) => p.stop()));
    }
    return { name: 'ocr', title: this.title, status: 'ok', durationMs: performance.now() - started, columns: [...ACCURACY_COLUMNS, ...LATENCY_COLUMNS], rows, metrics, notes };
  },
};
