// The dashboard's jobs table in headless Chromium: a finished job shows with its state, counts
// and a full progress bar, fed by GET /api/jobs. Skipped without Chromium, like dashboard.test.ts.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { PlexusClient } from '../../../src/client/index.ts';
import { defaultModelSpecs } from '../../../src/inference/index.ts';
import { silentLogger } from '../../../src/logger.ts';
import { createPlexusNode } from '../../../src/node/daemon.ts';
import { SPEECH_WAV } from '../grpc/helpers.ts';

const CHROMIUM = process.env.PLEXUS_CHROMIUM ?? '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('the dashboard jobs table', () => {
  it('lists a job with its progress', async () => {
    const node = createPlexusNode({
      grpc: { address: { host: '127.0.0.1', port: 0 }, maxMessageBytes: 64 * 1024 * 1024, maxStreamInFlight: 4 },
      dataDir: mkdtempSync(path.join(tmpdir(), 'plexus-jobs-dash-')), logLevel: 'silent', shutdownGraceMs: 1000,
      models: defaultModelSpecs(), http: { address: { host: '127.0.0.1', port: 0 } },
    }, { logger: silentLogger() });
    const started = await node.start();
    const client = new PlexusClient(started.grpc);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const item = { model: 'speech.vad', inputs: [{ name: 'audio', datatype: 'BYTES' as const, shape: [1], data: [SPEECH_WAV] }] };
      const { jobId } = await client.jobs.submitJob({ items: [item, item, item], label: 'dash' });
      for await (const e of client.jobs.watchJob(jobId)) void e;
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://${started.http ?? ''}/`);
      const row = page.locator('#jobs-table tbody tr', { hasText: jobId });
      await row.waitFor({ timeout: 10_000 });
      expect(await row.textContent()).toMatch(/dash.*COMPLETED.*3\/3/);
      expect(await row.locator('progress').evaluate((p) => { const bar = p as unknown as { value: number; max: number }; return [bar.value, bar.max]; })).toEqual([3, 3]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      client.close();
      await node.stop();
    }
  }, 40_000);
});
