// Dashboard entry: polls /api/cluster and /api/stats about once a second (the next poll starts
// after the last one ends, so a slow node never piles requests up) and feeds the graph, the
// routing table and the charts. window.plexusDashboard exposes the parts for tests and debugging.
import { createCharts } from './charts.js';
import { createGraph } from './graph.js';
import { attachQueryForm } from './query.js';
import { renderJobs } from './jobs-table.js';
import { renderRoutes } from './routes-table.js';

const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);

const graph = createGraph($('graph'));
const charts = createCharts($('throughput-chart'), $('latency-chart'));
const state = { graph, charts, cluster: undefined, stats: undefined, polls: 0 };
window.plexusDashboard = state;

async function getJson(path) {
  const res = await fetch(path, { signal: AbortSignal.timeout(3000), cache: 'no-store' });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

function renderCluster(cluster) {
  $('self').textContent = cluster.self || '(no libp2p)';
  $('policy').textContent = cluster.policy ? `routing: ${cluster.policy}` : '';
  $('peer-count').textContent = `${cluster.peers.length} connected peer${cluster.peers.length === 1 ? '' : 's'}`;
  $('route-count').textContent = `${cluster.routes.length} route${cluster.routes.length === 1 ? '' : 's'}${cluster.truncated ? ' (truncated)' : ''}`;
  graph.update(cluster);
  renderRoutes($('routes-table').querySelector('tbody'), cluster);
  const names = new Set([...cluster.models.flatMap((m) => [m.name, ...m.capabilities]), ...cluster.routes.flatMap((r) => [r.model, ...r.capabilities])]);
  $('query-models').replaceChildren(...[...names].sort().map((n) => Object.assign(document.createElement('option'), { value: n })));
}

async function poll() {
  try {
    const [cluster, stats, jobs] = await Promise.all([getJson('/api/cluster'), getJson('/api/stats'), getJson('/api/jobs').catch(() => undefined)]);
    state.cluster = cluster;
    state.stats = stats;
    state.polls++;
    renderCluster(cluster);
    charts.update(stats);
    if (jobs !== undefined) {
      state.jobs = jobs;
      $('job-count').textContent = jobs.enabled ? `${jobs.jobs.length} newest` : '(off on this node)';
      renderJobs($('jobs-table').querySelector('tbody'), jobs);
    }
    $('status').textContent = `updated ${new Date(cluster.at).toLocaleTimeString()}`;
    $('status').classList.remove('bad');
  } catch (e) {
    $('status').textContent = `node unreachable: ${e instanceof Error ? e.message : String(e)}`;
    $('status').classList.add('bad');
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

attachQueryForm({ form: $('query-form'), onRoute: (peers) => graph.showRoute(peers) });
void poll();
