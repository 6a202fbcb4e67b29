// The jobs table: the node's newest jobs (GET /api/jobs) with a progress bar each.
import { cell } from './routes-table.js';

const STATES = { RUNNING: 'running', COMPLETED: 'ok', CANCELLED: 'stopped', BUDGET_EXHAUSTED: 'stopped', DEADLINE_EXCEEDED: 'stopped' };

function progress(job) {
  const td = document.createElement('td');
  const bar = document.createElement('progress');
  const finished = job.done + job.failed + job.cancelled + job.skipped;
  bar.max = Math.max(1, job.items);
  bar.value = finished;
  td.append(bar, ` ${finished}/${job.items}`);
  return td;
}

export function renderJobs(tbody, snapshot) {
  const rows = snapshot.jobs.map((j) => {
    const tr = document.createElement('tr');
    tr.classList.add(`job-${STATES[j.state] ?? 'other'}`);
    const failures = Object.entries(j.failures).map(([k, v]) => `${k} ${v}`).join(', ');
    tr.append(
      cell(j.id, 'id'),
      cell(j.label || '—'),
      cell(j.state, '', j.stopReason),
      progress(j),
      cell(String(j.done), 'num'),
      cell(String(j.failed), 'num'),
      cell(String(j.running), 'num'),
      cell(failures || '—'),
      cell(j.maxCost === null ? j.cost.toFixed(2) : `${j.cost.toFixed(2)} / ${j.maxCost}`, 'num'),
      cell(new Date(j.createdMs).toLocaleTimeString()),
    );
    return tr;
  });
  tbody.replaceChildren(...rows);
}
