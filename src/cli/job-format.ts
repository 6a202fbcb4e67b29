// Text and JSON forms of jobs for `plexus job ...`: a status line, a list table, a progress bar
// with rate and ETA (pure: the numbers come in, the line goes out).
import type { ItemResult, JobStatus } from '../client/index.ts';
import { shortId, table } from './cluster.ts';

const time = (ms: number): string => (ms > 0 ? new Date(ms).toISOString().slice(11, 19) : '-');
const dateTime = (ms: number): string => (ms > 0 ? new Date(ms).toISOString().slice(0, 19).replace('T', ' ') : '-');
const failuresText = (f: Readonly<Record<string, number>>): string => Object.entries(f).map(([k, v]) => `${k} ${v}`).join(', ');
export const finishedCount = (j: JobStatus): number => j.done + j.failed + j.cancelled + j.skipped;

export function formatJob(j: JobStatus): string {
  const counts = [`${j.done} done`, `${j.failed} failed`, `${j.pending} pending`, `${j.running} running`,
    ...(j.cancelled > 0 ? [`${j.cancelled} cancelled`] : []), ...(j.skipped > 0 ? [`${j.skipped} skipped`] : [])];
  const lines = [
    `${j.jobId}  ${j.state}${j.label ? `  (${j.label})` : ''}`,
    `items    ${j.items}${j.open ? ' so far (more may come)' : ''}: ${counts.join(', ')}`,
    `cost     ${round(j.cost)}${j.maxCost === undefined ? '' : ` of max ${j.maxCost}`}`,
    `times    created ${dateTime(j.createdMs)}, ended ${time(j.endedMs)}, deadline ${dateTime(j.deadlineMs)} UTC`,
    ...(Object.keys(j.failures).length > 0 ? [`failures ${failuresText(j.failures)}`] : []),
    ...(j.stopReason ? [`stopped  ${j.stopReason}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

export function formatItems(items: readonly ItemResult[]): string {
  return table(['ITEM', 'STATE', 'STATUS', 'TRIES', 'MS', 'SERVED BY', 'MESSAGE'], items.map((i) => [
    String(i.index), i.state, i.status || '-', String(i.attempts), i.latencyMs > 0 ? i.latencyMs.toFixed(1) : '-', i.servedBy ? shortId(i.servedBy) : '-', i.message.slice(0, 80),
  ]));
}

export function formatJobList(jobs: readonly JobStatus[]): string {
  if (jobs.length === 0) return 'no jobs\n';
  return table(['JOB', 'STATE', 'ITEMS', 'DONE', 'FAILED', 'PENDING', 'COST', 'CREATED', 'LABEL'], jobs.map((j) => [
    j.jobId, j.state, String(j.items), String(j.done), String(j.failed), String(j.pending + j.running), String(round(j.cost)), time(j.createdMs), j.label || '-',
  ]));
}

/** A job without the noise of zero fields, for JSON lines. */
export function jobJson(j: JobStatus): Record<string, unknown> {
  return { ...j, cost: round(j.cost), ...(j.maxCost === undefined ? {} : { maxCost: j.maxCost }) };
}

export function itemJson(i: ItemResult): Record<string, unknown> {
  const seg = i.result?.outputs.find((t) => t.name === 'segments' && t.data instanceof Float32Array);
  const segments = seg?.data instanceof Float32Array
    ? Array.from({ length: seg.data.length >> 1 }, (_, k) => ({ start: round((seg.data as Float32Array)[2 * k] ?? 0), end: round((seg.data as Float32Array)[2 * k + 1] ?? 0) }))
    : undefined;
  return {
    index: i.index, state: i.state, status: i.status, attempts: i.attempts, ms: round(i.latencyMs), cost: i.cost,
    ...(i.servedBy ? { servedBy: i.servedBy } : {}), ...(i.message ? { message: i.message } : {}), ...(segments ? { segments } : {}),
  };
}

/** `[######......] 23/50  12.1 items/s  ETA 2s  failed: NOT_FOUND 1` */
export function progressLine(j: JobStatus, finishedSinceStart: number, elapsedMs: number, width = 30): string {
  const finished = finishedCount(j);
  const total = Math.max(1, j.items);
  const filled = Math.min(width, Math.round((finished / total) * width));
  const rate = elapsedMs > 0 ? finishedSinceStart / (elapsedMs / 1000) : 0;
  const left = j.items - finished;
  const eta = rate > 0 && left > 0 ? `ETA ${Math.ceil(left / rate)}s` : left > 0 ? 'ETA -' : 'done';
  const failures = failuresText(j.failures);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${finished}/${j.items}  ${rate.toFixed(1)} items/s  ${eta}${failures ? `  failed: ${failures}` : ''}`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
