// deploy/grafana against a live node: the dashboard JSON is well formed, every metric its
// queries (and the alert rules) name is one a real daemon exposes on /metrics after a couple of
// queries, and every metric the daemon exposes is on the dashboard. The alert rules go through
// `promtool check rules` and `promtool test rules` when promtool is installed (Debian package
// `prometheus`), and a structural check always. The compose monitoring services mount files
// that exist and scrape the ports the nodes really serve /metrics on.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNodeStartArgs } from '../../src/cli/node-start.ts';
import { startHttpNode, type HttpTestNode } from '../node/http/helpers.ts';
import { arr, DEPLOY, obj, readYaml, REPO, str } from './manifests.ts';

const run = promisify(execFile);
const GRAFANA = path.join(DEPLOY, 'grafana');
const COMPOSE = path.join(DEPLOY, 'compose');
const PROMTOOL = ['/usr/bin/promtool', ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'promtool'))].find((p) => existsSync(p));

interface Target { refId: string; expr: string }
interface Panel { id: number; type: string; title: string; gridPos: { h: number; w: number; x: number; y: number }; targets?: Target[] }
const dashboard = JSON.parse(readFileSync(path.join(GRAFANA, 'plexus-dashboard.json'), 'utf8')) as {
  uid: string; title: string; panels: Panel[]; templating: { list: { name: string; query: unknown }[] };
};
const rules = obj(readYaml(path.join(GRAFANA, 'plexus-alerts.yml')), 'rules');
const alertRules = arr(rules.groups, 'groups').flatMap((g) => arr(obj(g, 'group').rules, 'rules').map((r) => obj(r, 'rule')));

/** Metric names a PromQL expression selects: identifiers before `{` or `[`, and every plexus_* name. */
function metricNames(expr: string): Set<string> {
  const names = new Set<string>();
  const withoutStrings = expr.replace(/"[^"]*"/g, '""');
  for (const m of withoutStrings.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{[]/g)) if (m[1] !== undefined && m[1] !== 'by' && m[1] !== 'without') names.add(m[1]);
  for (const m of withoutStrings.matchAll(/\bplexus_[a-z0-9_]+/g)) names.add(m[0]);
  return names;
}

const dashboardExprs = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  ...dashboard.templating.list.map((v) => {
    const q = typeof v.query === 'object' && v.query !== null ? (v.query as { query?: unknown }).query : undefined;
    return typeof q === 'string' ? q : '';
  }).filter((q) => q.includes('plexus_')),
];
const alertExprs = alertRules.map((r) => str(r.expr, 'expr'));

/** Metric names the exposition declares (`# TYPE`), with a histogram's _bucket/_sum/_count series. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = '', type] = m;
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
  }
  return names;
}

describe('the Grafana dashboard', () => {
  it('is a dashboard: uid, title, unique panel ids inside the 24-column grid, every query with a refId', () => {
    expect(dashboard.uid).toBe('plexus-overview');
    expect(dashboard.title).toBe('Plexus');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.refId).toMatch(/^[A-Z]$/);
        expect(t.expr.length).toBeGreaterThan(0);
      }
    }
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join('\n');
    for (const want of ['throughput', 'p50', 'p99', 'errors by status', 'queue depth', 'batch size', 'route choices', 'failovers', 'peers']) {
      expect(titles).toContain(want);
    }
  });
});

describe('dashboard and alert queries against a live node', () => {
  let node: HttpTestNode;
  let exposition = '';

  beforeAll(async () => {
    node = await startHttpNode();
    const wav = readFileSync(path.join(REPO, 'test/fixtures/speech-8k-mono.wav')).toString('base64');
    const infer = (data: unknown): Promise<Response> => fetch(`${node.base}/v2/models/speech.vad/infer`, {
      method: 'POST', body: JSON.stringify({ inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [data] }] }),
    });
    expect((await infer({ b64: wav })).status).toBe(200);
    expect((await infer('not a wav')).status).toBe(400);
    exposition = await (await fetch(`${node.base}/metrics`)).text();
  }, 30_000);
  afterAll(() => node.close());

  it('every metric the dashboard and the alerts query exists on /metrics (up is Prometheus\'s own)', () => {
    const exposed = exposedNames(exposition);
    const used = new Set([...dashboardExprs, ...alertExprs].flatMap((e) => [...metricNames(e)]));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) {
      if (name === 'up') continue;
      expect(exposed, `${name} is queried but not exposed`).toContain(name);
    }
  });

  it('every metric the node exposes is on the dashboard', () => {
    const onDashboard = new Set(dashboardExprs.flatMap((e) => [...metricNames(e)]).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    const families = [...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? '');
    expect(families.length).toBeGreaterThan(10);
    for (const f of families) expect(onDashboard, `${f} is not on the dashboard`).toContain(f);
  });

  it('the node reports a route to its own capabilities (the gauge the no-route alert reads)', () => {
    expect(exposition).toMatch(/^plexus_capability_routes\{capability="speech\.vad"\} 1$/m);
    expect(exposition).toMatch(/^plexus_capability_routes\{capability="speech\.vad\.raw"\} 1$/m);
  });
});

describe('the alert rules', () => {
  it('cover node down, error ratio, p99 over a threshold and a capability without a route', () => {
    const byName = new Map(alertRules.map((r) => [str(r.alert, 'alert'), r]));
    expect([...byName.keys()].sort()).toEqual(['PlexusErrorRatioHigh', 'PlexusNoRouteForCapability', 'PlexusNodeDown', 'PlexusP99LatencyHigh']);
    expect(str(byName.get('PlexusNodeDown')?.expr, 'expr')).toMatch(/\bup\{job="plexus"\} == 0/);
    expect(str(byName.get('PlexusP99LatencyHigh')?.expr, 'expr')).toMatch(/histogram_quantile\(0\.99,/);
    expect(str(byName.get('PlexusNoRouteForCapability')?.expr, 'expr')).toMatch(/plexus_capability_routes\{job="plexus"\} == 0/);
    for (const r of alertRules) {
      expect(str(r.for, 'for')).toMatch(/^\d+m$/);
      expect(obj(r.labels, 'labels').severity).toMatch(/^(warning|critical)$/);
      expect(str(obj(r.annotations, 'annotations').summary, 'summary').length).toBeGreaterThan(0);
    }
  });

  it.skipIf(PROMTOOL === undefined)('pass promtool check rules, the rule unit tests and check config', async () => {
    const promtool = PROMTOOL ?? 'promtool';
    const opts = { cwd: GRAFANA, timeout: 20_000 };
    await run(promtool, ['check', 'rules', 'plexus-alerts.yml'], opts);
    await run(promtool, ['test', 'rules', 'plexus-alerts.test.yml'], opts);
    // check config also stats the scrape token file, a compose secret at /run/secrets: check a
    // copy beside the rules whose token path points at a real (temporary) file.
    const dir = await mkdtemp(path.join(tmpdir(), 'plexus-prom-'));
    try {
      const config = await readFile(path.join(GRAFANA, 'prometheus.yml'), 'utf8');
      expect(config).toContain('credentials_file: /run/secrets/prometheus_token');
      await writeFile(path.join(dir, 'token'), 'plx_test\n');
      await writeFile(path.join(dir, 'prometheus.yml'), config.replace('/run/secrets/prometheus_token', path.join(dir, 'token')));
      await copyFile(path.join(GRAFANA, 'plexus-alerts.yml'), path.join(dir, 'plexus-alerts.yml'));
      await run(promtool, ['check', 'config', 'prometheus.yml'], { ...opts, cwd: dir });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('compose monitoring', () => {
  const main = obj(readYaml(path.join(COMPOSE, 'docker-compose.yml')), 'compose');
  const monitoring = obj(readYaml(path.join(COMPOSE, 'monitoring.yml')), 'monitoring');
  const services = obj(monitoring.services, 'services');

  it('is included by docker-compose.yml and mounts files that exist', () => {
    expect(arr(main.include, 'include')).toContain('monitoring.yml');
    expect(Object.keys(services).sort()).toEqual(['grafana', 'prometheus']);
    for (const [name, raw] of Object.entries(services)) {
      for (const v of arr(obj(raw, name).volumes, `${name}.volumes`)) {
        const from = str(v, 'volume').split(':')[0] ?? '';
        if (from.startsWith('.')) expect(existsSync(path.resolve(COMPOSE, from)), from).toBe(true);
      }
    }
  });

  it('Prometheus scrapes every node on the port it serves /metrics on; Grafana reads that Prometheus and the dashboard', () => {
    const nodes = obj(main.services, 'services');
    const expected = Object.entries(nodes).map(([name, raw]) => {
      const argv = arr(obj(raw, name).command, 'command').map((a) => str(a, 'command'));
      const http = parseNodeStartArgs(argv.slice(2)).flags.http;
      expect(http, `${name} has no --http`).toBeDefined();
      return `${name}:${(http ?? '').split(':').at(-1) ?? ''}`;
    });
    const prom = obj(readYaml(path.join(GRAFANA, 'prometheus.yml')), 'prometheus');
    const job = obj(arr(prom.scrape_configs, 'scrape_configs')[0], 'scrape');
    expect(job.job_name).toBe('plexus');
    const targets = arr(obj(arr(job.static_configs, 'static_configs')[0], 'static').targets, 'targets');
    expect(targets).toEqual(expected);

    const ds = obj(arr(obj(readYaml(path.join(GRAFANA, 'provisioning/datasources/prometheus.yml')), 'ds').datasources, 'datasources')[0], 'datasource');
    const promPort = arr(obj(services.prometheus, 'prometheus').ports, 'ports').map((p) => str(p, 'port').split(':').at(-1));
    expect(ds.url).toBe(`http://prometheus:${promPort[0] ?? ''}`);
    const provider = obj(arr(obj(readYaml(path.join(GRAFANA, 'provisioning/dashboards/plexus.yml')), 'dash').providers, 'providers')[0], 'provider');
    const dashDir = str(obj(provider.options, 'options').path, 'path');
    const grafanaMounts = arr(obj(services.grafana, 'grafana').volumes, 'volumes').map((v) => str(v, 'volume'));
    expect(grafanaMounts).toContain(`../grafana/plexus-dashboard.json:${dashDir}/plexus-dashboard.json:ro`);
  });
});
