// The test-query form's image support and the parts of an answer beyond its route: a file's type
// from its first bytes (an image goes to the model's `image` input, a WAV to `audio`), the
// recognised text of an OCR answer (a `text` BYTES output) one line each, and a pipeline's steps
// (the `plexus.steps` parameter: one call per row with capability, served_by, route, ms, cost).
import { shortId } from './graph.js';
import { cell } from './routes-table.js';

const INPUT_FOR_KIND = { png: 'image', jpeg: 'image', wav: 'audio' };

/** 'png' | 'jpeg' | 'wav' from a file's first bytes; undefined for anything else. */
export async function fileKind(file) {
  const b = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  const at = (offset, bytes) => bytes.every((v, i) => b[offset + i] === v);
  if (at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (at(0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (at(0, [0x52, 0x49, 0x46, 0x46]) && at(8, [0x57, 0x41, 0x56, 0x45])) return 'wav';
  return undefined;
}

/** The input of the model (its metadata) a file of `kind` goes to, when the model has one by that name. */
export function inputForKind(kind, meta) {
  const name = kind === undefined ? undefined : INPUT_FOR_KIND[kind];
  return meta?.inputs?.find((i) => i.name === name && i.datatype === 'BYTES')?.name;
}

/** The lines of a `text` BYTES output (UTF-8 strings in REST JSON), or undefined when there is none. */
export function textLines(outputs) {
  const t = (outputs ?? []).find((o) => o.name === 'text' && o.datatype === 'BYTES');
  if (t === undefined || !Array.isArray(t.data)) return undefined;
  return t.data.map((v) => (typeof v === 'string' ? v : '(not UTF-8)'));
}

/** The step records of a `plexus.steps` parameter (a JSON array), or undefined when absent or malformed. */
export function parseSteps(raw) {
  if (typeof raw !== 'string' || raw === '') return undefined;
  try {
    const steps = JSON.parse(raw);
    return Array.isArray(steps) ? steps.filter((s) => s !== null && typeof s === 'object') : undefined;
  } catch {
    return undefined;
  }
}

/** Shows the recognised text (hidden when the answer has none). */
export function renderText(block, pre, outputs) {
  const lines = textLines(outputs);
  block.hidden = lines === undefined;
  pre.textContent = lines === undefined ? '' : lines.length === 0 ? '(no text found)' : lines.join('\n');
}

/** Fills the steps table, one row per step call (hidden when the answer has no plexus.steps). */
export function renderSteps(table, raw) {
  const steps = parseSteps(raw);
  table.hidden = steps === undefined;
  const rows = (steps ?? []).map((s, i) => {
    const tr = document.createElement('tr');
    const route = String(s.route ?? '').split(',').filter(Boolean);
    tr.append(
      cell(String(i + 1), 'num'),
      cell(String(s.capability ?? '')),
      cell(s.served_by ? shortId(String(s.served_by)) : 'this node', 'id', String(s.served_by ?? '')),
      cell(route.map(shortId).join(' → '), 'id', route.join(',')),
      cell(typeof s.ms === 'number' ? s.ms.toFixed(1) : String(s.ms ?? ''), 'num'),
      cell(String(s.cost ?? ''), 'num'),
    );
    return tr;
  });
  table.querySelector('tbody').replaceChildren(...rows);
}
