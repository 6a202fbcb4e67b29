// The routing table, one row per (model, origin) route with every part of its metric. Rows of a
// model come best first (the node's own order); the first row of each model is marked.
import { shortId } from './graph.js';

const num = (v, digits = 1) => (v === null || v < 0 ? '∞' : v.toFixed(digits));

/** A table cell with text, an optional class and a tooltip (the jobs table uses it too). */
export function cell(text, cls, title) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  if (title) td.title = title;
  return td;
}

export function renderRoutes(tbody, snapshot) {
  const now = snapshot.at;
  const seen = new Set();
  const rows = snapshot.routes.map((r) => {
    const tr = document.createElement('tr');
    if (!seen.has(r.model)) { seen.add(r.model); tr.classList.add('best'); }
    if (r.local) tr.classList.add('local');
    tr.append(
      cell(`${r.model}${r.version ? ` v${r.version}` : ''}`),
      cell(r.capabilities.join(', ')),
      cell(r.local ? 'this node' : shortId(r.origin), 'id', r.origin),
      cell(r.local ? '—' : shortId(r.nextHop), 'id', r.nextHop),
      cell(String(r.hops), 'num'),
      cell(num(r.pathMs, 2), 'num'),
      cell(num(r.computeMs, 2), 'num'),
      cell(num(r.queueMs, 2), 'num'),
      cell(num(r.expectedMs, 2), 'num'),
      cell(String(r.price), 'num'),
      cell(r.provider),
      cell(String(r.seq), 'num'),
      cell(r.expiresAt === null ? '—' : `${Math.max(0, (r.expiresAt - now) / 1000).toFixed(1)} s`, 'num'),
      cell(r.trust ?? 'ok'),
    );
    if (r.trust === 'quarantined' || r.trust === 'demoted') tr.classList.add(r.trust);
    return tr;
  });
  tbody.replaceChildren(...rows);
}
