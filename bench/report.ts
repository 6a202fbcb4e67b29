// Writers for the bench results: JSON (everything), Markdown (for the README) and an SVG chart
// drawn here from the data (p50/p99 bars per row plus the target verdicts), no chart library.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchReport, ScenarioResult, TargetCheck } from './types.ts';

function cell(v: number | string | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '–';
  return v.replace(/\|/g, '\\|');
}

function verdict(t: TargetCheck): string {
  return t.pass === null ? 'N/A' : t.pass ? 'PASS' : 'MISS';
}

export function scenarioMarkdown(s: ScenarioResult): string {
  const lines = [`### ${s.title}`, ''];
  if (s.status !== 'ok') {
    lines.push(`_${s.status}: ${s.reason ?? 'no reason given'}_`, '');
    return lines.join('\n');
  }
  if (s.rows.length > 0) {
    lines.push(`| case | ${s.columns.join(' | ')} |`, `|---|${s.columns.map(() => '---:').join('|')}|`);
    for (const r of s.rows) lines.push(`| ${cell(r.label)} | ${s.columns.map((c) => cell(r.values[c])).join(' | ')} |`);
    lines.push('');
  }
  for (const n of s.notes) lines.push(`- ${n}`);
  if (s.notes.length > 0) lines.push('');
  return lines.join('\n');
}

export function toMarkdown(r: BenchReport): string {
  const m = r.machine;
  const out = [
    `## Benchmark results (${r.quick ? 'quick' : 'full'} run, ${r.startedAt})`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Node ${m.node}, ${m.platform}/${m.arch}, onnxruntime-node ${m.onnxruntime}. Model: ${r.model}.`,
    '',
    '### Targets',
    '',
    '| target | measured | verdict |',
    '|---|---|---|',
    ...r.targets.map((t) => `| ${cell(t.description)} | ${cell(t.detail)} | ${verdict(t)} |`),
    '',
  ];
  for (const s of r.scenarios) out.push(scenarioMarkdown(s));
  return out.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(v: number | string | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

const FONT = 'font-family="system-ui,Segoe UI,Helvetica,Arial,sans-serif"';

/**
 * One panel per scenario with latency rows: a horizontal bar per row, p50 solid, p99 as a
 * lighter bar behind it, on a log scale so 0.05 ms and 50 ms fit the same axis.
 */
export function toSvg(r: BenchReport): string {
  const width = 980;
  const labelW = 430;
  const barW = width - labelW - 110;
  const rowH = 18;
  const parts: string[] = [];
  let y = 0;
  const text = (x: number, yy: number, s: string, extra = ''): void => {
    parts.push(`<text x="${x}" y="${yy}" ${FONT} ${extra}>${esc(s)}</text>`);
  };

  y += 26;
  text(12, y, `Plexus benchmark — ${r.quick ? 'quick' : 'full'} run ${r.startedAt}`, 'font-size="17" font-weight="600"');
  y += 18;
  const m = r.machine;
  text(12, y, `${m.cpuModel} · ${m.cores} cores · ${m.memoryGiB} GiB · Node ${m.node} · model ${r.model}`, 'font-size="12" fill="#555"');
  y += 22;

  // Targets block.
  text(12, y, 'Targets', 'font-size="14" font-weight="600"');
  y += 6;
  for (const t of r.targets) {
    y += rowH;
    const v = verdict(t);
    const color = v === 'PASS' ? '#1a7f37' : v === 'MISS' ? '#cf222e' : '#777';
    parts.push(`<rect x="12" y="${y - 12}" width="44" height="15" rx="3" fill="${color}"/>`);
    text(34, y, v, 'font-size="10" fill="#fff" text-anchor="middle" font-weight="600"');
    text(64, y, `${t.description} — ${t.detail}`, 'font-size="12"');
  }
  y += 16;

  // Latency panels.
  const panels = r.scenarios.filter((s) => s.status === 'ok' && s.rows.some((row) => num(row.values['p50Ms']) !== null));
  const all = panels.flatMap((s) => s.rows.flatMap((row) => [num(row.values['p50Ms']), num(row.values['p99Ms'])])).filter((v): v is number => v !== null && v > 0);
  const lo = all.length ? Math.min(...all) : 0.01;
  const hi = all.length ? Math.max(...all) : 1;
  const logLo = Math.log10(lo) - 0.1;
  const logHi = Math.log10(hi) + 0.1;
  const xOf = (v: number): number => labelW + ((Math.log10(Math.max(v, lo)) - logLo) / (logHi - logLo || 1)) * barW;

  if (panels.length > 0) {
    y += 14;
    text(12, y, 'Latency per case (log scale): dark = p50, light = p99, ms', 'font-size="14" font-weight="600"');
    // Axis ticks at powers of ten.
    y += 6;
    const axisTop = y;
    for (const s of panels) {
      y += 20;
      text(12, y, s.title, 'font-size="13" font-weight="600" fill="#333"');
      for (const row of s.rows) {
        const p50 = num(row.values['p50Ms']);
        const p99 = num(row.values['p99Ms']);
        if (p50 === null) continue;
        y += rowH;
        const label = row.label.length > 64 ? `${row.label.slice(0, 61)}…` : row.label;
        text(labelW - 8, y, label, 'font-size="11" text-anchor="end"');
        if (p99 !== null) parts.push(`<rect x="${labelW}" y="${y - 11}" width="${(xOf(p99) - labelW).toFixed(1)}" height="13" fill="#9ecae1"/>`);
        parts.push(`<rect x="${labelW}" y="${y - 11}" width="${(xOf(p50) - labelW).toFixed(1)}" height="13" fill="#2171b5"/>`);
        text(Math.max(xOf(p99 ?? p50), xOf(p50)) + 4, y, `${p50} / ${p99 ?? '–'}`, 'font-size="10" fill="#333"');
      }
    }
    for (let e = Math.ceil(logLo); e <= Math.floor(logHi); e++) {
      const x = xOf(10 ** e);
      parts.push(`<line x1="${x.toFixed(1)}" y1="${axisTop}" x2="${x.toFixed(1)}" y2="${y + 6}" stroke="#ddd" stroke-dasharray="3,3"/>`);
      text(x, y + 18, `${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)} ms`, 'font-size="10" fill="#777" text-anchor="middle"');
    }
    y += 24;
  }

  // Scenarios that did not run.
  const notRun = r.scenarios.filter((s) => s.status !== 'ok');
  if (notRun.length > 0) {
    y += 18;
    text(12, y, 'Not measured', 'font-size="14" font-weight="600"');
    for (const s of notRun) {
      y += rowH;
      const reason = `${s.title}: ${s.status} — ${s.reason ?? ''}`;
      text(12, y, reason.length > 150 ? `${reason.slice(0, 147)}…` : reason, 'font-size="11" fill="#777"');
    }
  }
  y += 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * Write `<timestamp>[-<scenarios>].json` (the `--only` list, so a result says what it holds),
 * `latest.json`, `latest.md`, `latest.svg`; returns the paths.
 */
export function writeReport(r: BenchReport, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[:.]/g, '-');
  const what = r.only === null || r.only.length === 0 ? '' : `-${r.only.map((n) => n.replace(/[^a-z0-9-]/gi, '')).join('+')}`;
  const json = `${JSON.stringify(r, null, 2)}\n`;
  const files: [string, string][] = [
    [join(dir, `${stamp}${what}.json`), json],
    [join(dir, 'latest.json'), json],
    [join(dir, 'latest.md'), toMarkdown(r)],
    [join(dir, 'latest.svg'), toSvg(r)],
  ];
  for (const [path, body] of files) writeFileSync(path, body);
  return files.map(([p]) => p);
}
