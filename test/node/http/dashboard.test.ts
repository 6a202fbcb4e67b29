// The web dashboard in a real headless Chromium, on a real 3-node cluster (in-process nodes,
// real libp2p, real ONNX, HTTP on 127.0.0.1:0): the page loads its modules from the node (no
// CDN), the cytoscape graph shows all three peers, the routing table has rows, the charts get
// data, and a file sent from the form is answered with its route. A screenshot goes to
// test-artifacts/dashboard.png (and to docs/dashboard.png when UPDATE_SCREENSHOTS=1 or none exists).
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModelSpecs } from '../../../src/inference/index.ts';
import { silentLogger } from '../../../src/logger.ts';
import { createPlexusNode, type PlexusNode } from '../../../src/node/daemon.ts';
import { compileNodeOptions } from '../../../src/node/options.ts';
import { rawVadModel, removeTempDirs, tempDir, waitFor } from '../../cluster/helpers.ts';

// PLEXUS_CHROMIUM: another Chromium binary (or a missing path, to see the skip).
const CHROMIUM = process.env.PLEXUS_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-artifacts');
const WAV = path.resolve('test/fixtures/speech-8k-mono.wav');

interface HttpNode {
  readonly node: PlexusNode;
  readonly peerId: string;
  readonly addrs: readonly string[];
  readonly url: string;
}

async function startHttpNode(opts: { bootstrap?: readonly string[]; models: unknown[] }): Promise<HttpNode> {
  const compiled = compileNodeOptions({
    grpc: '127.0.0.1:0', http: '127.0.0.1:0', dataDir: tempDir('plexus-dashboard-'), logLevel: 'silent',
    listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [...(opts.bootstrap ?? [])],
  });
  const node = createPlexusNode(
    { ...compiled, shutdownGraceMs: 1000, models: compileModelSpecs(opts.models, process.cwd()) },
    { logger: silentLogger(), p2p: { refreshMs: 1000 } },
  );
  const started = await node.start();
  if (started.http === undefined) throw new Error('node started without its HTTP port');
  return { node, peerId: started.peerId, addrs: started.multiaddrs, url: `http://${started.http}` };
}

// The test has no DOM types: page-side code goes as expression strings over
// window.plexusDashboard (`d` below; app.js sets it), results come back as plain JSON.
const inPage = (expr: string): string => `(() => { const d = window.plexusDashboard; return ${expr}; })()`;

async function evaluate<T>(page: Page, expr: string): Promise<T> {
  return page.evaluate<T>(inPage(expr));
}

/** Polls from here (waitForFunction would eval in the page, which the dashboard's CSP forbids). */
async function waitUntil(page: Page, expr: string, timeoutMs: number): Promise<void> {
  await waitFor(expr, async () => (await evaluate<boolean>(page, `d !== undefined && (${expr})`)) === true, timeoutMs, 100);
}

// A raw silero window as REST JSON: traffic for the charts before the screenshot.
const rawVadBody = JSON.stringify({
  inputs: [
    { name: 'input', datatype: 'FP32', shape: [1, 512], data: Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin(i / 5)) },
    { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array(256).fill(0) },
    { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
  ],
});

const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`dashboard browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
const TITLE = HAVE_CHROMIUM ? 'dashboard in headless Chromium' : `dashboard in headless Chromium: SKIPPED, no ${CHROMIUM} (apt-get install chromium)`;

const nodes: HttpNode[] = [];

beforeAll(async () => {
  // a - b - c bootstrapped in a line; only c hosts speech.vad, so a query at a travels to c.
  const a = await startHttpNode({ models: [rawVadModel()] });
  nodes.push(a);
  const b = await startHttpNode({ bootstrap: a.addrs, models: [rawVadModel({ price: 2 })] });
  nodes.push(b);
  const c = await startHttpNode({
    bootstrap: b.addrs,
    models: [rawVadModel({ price: 1 }), { name: 'silero-vad-segments', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'] }],
  });
  nodes.push(c);
  await waitFor('node a has a route to speech.vad at c', () => a.node.cluster()?.routes().some((r) => r.origin === c.peerId && r.capabilities.includes('speech.vad')) === true, 20_000);
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.node.stop()));
  removeTempDirs();
});

describe('dashboard HTTP routes', () => {
  it('serves the page and its assets from the node, with a same-origin CSP', async () => {
    const [a] = nodes as [HttpNode];
    for (const p of ['/', '/dashboard', '/dashboard/']) {
      const res = await fetch(`${a.url}${p}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await res.text()).toContain('/dashboard/assets/app.js');
    }
    for (const asset of ['app.js', 'graph.js', 'cytoscape.esm.min.mjs', 'chart.umd.min.js']) {
      const res = await fetch(`${a.url}/dashboard/assets/${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(500);
    }
    // Only listed names: nothing else on disk is reachable.
    for (const bad of ['handler.ts', '..%2fhandler.ts', '%2e%2e%2f%2e%2e%2f..%2fpackage.json', 'nope.js']) {
      expect((await fetch(`${a.url}/dashboard/assets/${bad}`)).status).toBe(404);
    }
    // The node's other routes still answer behind the dashboard's.
    expect((await fetch(`${a.url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${a.url}/metrics`)).status).toBe(200);
  });

  it('answers /api/cluster with peers, routes and models, and refuses writes', async () => {
    const [a, b, c] = nodes as [HttpNode, HttpNode, HttpNode];
    const res = await fetch(`${a.url}/api/cluster`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json() as { self: string; peers: { peerId: string }[]; routes: { origin: string; model: string; expectedMs: number }[]; models: { name: string }[] };
    expect(body.self).toBe(a.peerId);
    expect(body.peers.map((p) => p.peerId)).toContain(b.peerId);
    expect(new Set(body.routes.map((r) => r.origin))).toEqual(new Set([a.peerId, b.peerId, c.peerId]));
    expect(body.routes.find((r) => r.model === 'silero-vad-segments')?.origin).toBe(c.peerId);
    expect(body.models.map((m) => m.name)).toEqual(['silero-vad']);
    const post = await fetch(`${a.url}/api/cluster`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('counts queries in /api/stats', async () => {
    const [a] = nodes as [HttpNode];
    type Stats = { at: number; series: { model: string; requests: number; errors: number; latencyCount: number; latencySumS: number }[] };
    const count = async (): Promise<Stats['series'][number] | undefined> => ((await (await fetch(`${a.url}/api/stats`)).json()) as Stats).series.find((s) => s.model === 'speech.vad.raw');
    const before = (await count())?.requests ?? 0;
    const ok = await fetch(`${a.url}/v2/models/speech.vad.raw/infer`, { method: 'POST', body: rawVadBody, headers: { 'Content-Type': 'application/json' } });
    expect(ok.status).toBe(200);
    // Refused by the model (wrong input name): counted as an error.
    const bad = await fetch(`${a.url}/v2/models/speech.vad.raw/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'wrong', datatype: 'FP32', shape: [1], data: [0] }] }), headers: { 'Content-Type': 'application/json' } });
    expect(bad.status).toBe(400);
    const after = await count();
    expect(after?.requests).toBe(before + 2);
    expect(after?.errors).toBeGreaterThanOrEqual(1);
    expect(after?.latencyCount).toBe(after?.requests);
    expect(after?.latencySumS).toBeGreaterThan(0);
  });
});

describe.skipIf(!HAVE_CHROMIUM)(TITLE, () => {
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const [a] = nodes as [HttpNode];
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1050 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // Nothing but the node itself may be asked for anything (no CDN).
    await page.route((url) => !url.href.startsWith(a.url), (route) => route.abort());
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the cluster graph with all three peers and the routing table', async () => {
    const [a, b, c] = nodes as [HttpNode, HttpNode, HttpNode];
    const response = await page.goto(`${a.url}/`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('Plexus node');
    await waitUntil(page, 'd.polls >= 2', 15_000);
    await waitUntil(page, 'd.graph.cy.nodes().length === 3', 15_000);
    const ids = await evaluate<string[]>(page, 'd.graph.cy.nodes().map((n) => n.id()).sort()');
    expect(ids).toEqual([a.peerId, b.peerId, c.peerId].sort());
    expect(await page.locator('#self').textContent()).toBe(a.peerId);
    // a's own model, b's and c's raw models and c's speech.vad adapter.
    await page.locator('#routes-table tbody tr').nth(3).waitFor({ timeout: 10_000 });
    const rows = await page.locator('#routes-table tbody tr').allTextContents();
    expect(rows.some((r) => r.includes('silero-vad-segments') && r.includes('speech.vad'))).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('sends a file from the form and shows the route it took', async () => {
    const [a, , c] = nodes as [HttpNode, HttpNode, HttpNode];
    await page.fill('#query-model', 'speech.vad');
    await page.setInputFiles('#query-file', WAV);
    await page.fill('#query-input-name', 'audio');
    await page.click('#query-send');
    const servedBy = page.locator('#query-route dd[data-field="served by"]');
    await servedBy.waitFor({ timeout: 15_000 });
    expect(await servedBy.textContent()).toBe(c.peerId);
    const route = await page.locator('#query-route dd[data-field="route"]').textContent();
    // The entry node first, the provider last.
    expect(route?.split(' → ').length).toBeGreaterThanOrEqual(2);
    expect(route?.startsWith(a.peerId.slice(0, 6))).toBe(true);
    expect(route?.endsWith(c.peerId.slice(-6))).toBe(true);
    expect(await page.locator('#query-outputs').textContent()).toMatch(/\S/);
    // The route is highlighted on the graph.
    expect(await evaluate<boolean>(page, `d.graph.cy.getElementById(${JSON.stringify(c.peerId)}).hasClass('on-route')`)).toBe(true);
  });

  it('charts the traffic the node serves, then saves a screenshot', async () => {
    const [a] = nodes as [HttpNode];
    // A few seconds of light traffic so the charts have lines.
    const until = Date.now() + 2500;
    while (Date.now() < until) {
      const res = await fetch(`${a.url}/v2/models/speech.vad.raw/infer`, { method: 'POST', body: rawVadBody, headers: { 'Content-Type': 'application/json' } });
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitUntil(page, "(d.stats?.series.find((s) => s.model === 'speech.vad.raw')?.requests ?? 0) > 0", 10_000);
    // Rates need two polls after the traffic; wait for a non-zero point in the throughput chart.
    const chartPoints = "d.charts.throughput.data.datasets.find((s) => s.label === 'speech.vad.raw')?.data.filter((v) => v > 0).length ?? 0";
    await waitUntil(page, `(${chartPoints}) > 0`, 10_000);
    const points = await evaluate<number>(page, chartPoints);
    expect(points).toBeGreaterThan(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    const docs = path.resolve('docs/dashboard.png');
    if (process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(docs)) {
      mkdirSync(path.dirname(docs), { recursive: true });
      copyFileSync(shot, docs);
    }
    expect(pageErrors).toEqual([]);
  });
});
