// The dashboard's test-query form with an image, in a real headless Chromium against a real node
// hosting the OCR capabilities (real ONNX, HTTP on 127.0.0.1:0): choosing a PNG picks the model's
// `image` input and previews it; the answer shows the recognised text, one line each; the steps
// table shows one row per plexus.steps record of the answer, and is hidden when there is none.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir, waitFor } from '../../cluster/helpers.ts';
import { ocrModelEntries } from '../../../src/inference/adapters/ocr/ocr-config.ts';
import { HAS_CONVERT, squash, textImage } from '../../inference/ocr-images.ts';
import { startHttpNode, type HttpTestNode } from './helpers.ts';

const CHROMIUM = process.env.PLEXUS_CHROMIUM ?? '/usr/bin/chromium';
const RUN = existsSync(CHROMIUM) && HAS_CONVERT;
if (!RUN) console.warn(`dashboard OCR test skipped: needs ${CHROMIUM} and /usr/bin/convert`);

interface StepRecord { capability: string; served_by: string; route: string; ms: number; cost: number }

describe.skipIf(!RUN)('dashboard test query with an image, in headless Chromium', () => {
  let node: HttpTestNode;
  let browser: Browser;
  let page: Page;
  let image: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // ocrModelEntries(): ocr.read as the pipeline, its steps on this node's own models.
    node = await startHttpNode({ models: ocrModelEntries() });
    image = path.join(tempDir('plexus-dashboard-ocr-'), 'receipt.png');
    writeFileSync(image, textImage(['HELLO WORLD', 'PLEXUS 2026']));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1050 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.route((url) => !url.href.startsWith(node.base), (route) => route.abort());
    expect((await page.goto(`${node.base}/`))?.status()).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await node?.close();
    removeTempDirs();
  });

  it('sends an image to ocr.read and shows the recognised text, and the steps the answer lists', async () => {
    await page.fill('#query-model', 'ocr.read');
    await page.setInputFiles('#query-file', image);
    // The PNG picked the model's `image` input (the field starts as `audio`) and is previewed.
    await waitFor('the image input picked', async () => (await page.inputValue('#query-input-name')) === 'image', 10_000, 100);
    expect(await page.locator('#query-image').isVisible()).toBe(true);

    const answered = page.waitForResponse((r) => r.url().endsWith('/v2/models/ocr.read/infer'), { timeout: 30_000 });
    await page.click('#query-send');
    const answer = await (await answered).json() as { parameters?: Record<string, unknown> };
    const text = page.locator('#query-text');
    await text.waitFor({ state: 'visible', timeout: 30_000 });
    expect((await text.textContent())?.split('\n').map(squash)).toEqual(['HELLOWORLD', 'PLEXUS2026']);
    expect(await page.locator('#query-route dd[data-field="served by"]').textContent()).toBe(node.node.peerId());

    // The steps table mirrors the answer's plexus.steps (a pipeline's), and is hidden without it.
    const raw = answer.parameters?.['plexus.steps'];
    const steps = typeof raw === 'string' ? JSON.parse(raw) as StepRecord[] : undefined;
    // ocr.read is a pipeline: its answer lists its steps (detect, then recognize).
    expect(steps?.map((s) => s.capability)).toEqual(expect.arrayContaining(['ocr.detect', 'ocr.recognize']));
    expect(await page.locator('#query-steps').isVisible()).toBe(steps !== undefined);
    const rows = await page.locator('#query-steps tbody tr').allTextContents();
    expect(rows).toHaveLength(steps?.length ?? 0);
    steps?.forEach((s, i) => expect(rows[i]).toContain(s.capability));
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('renders plexus.steps as a table: capability, served by, route, ms, cost', async () => {
    const [x, y, p] = ['12D3KooWXxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxDETECT', '12D3KooWYyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyRECOGN', '12D3KooWPpppppppppppppppppppppppppppppppppppppppppPIPELN'];
    const steps: StepRecord[] = [
      { capability: 'ocr.detect', served_by: x, route: `${p},${x}`, ms: 232.94, cost: 1 },
      { capability: 'ocr.recognize', served_by: y, route: `${p},${y}`, ms: 101.5, cost: 2 },
    ];
    // The page's own module, on the page's own table.
    const rows = await page.evaluate<string[][]>(`import('/dashboard/assets/query-answer.js').then((m) => {
      const table = document.getElementById('query-steps');
      m.renderSteps(table, ${JSON.stringify(JSON.stringify(steps))});
      return [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent));
    })`);
    expect(rows).toEqual([
      ['1', 'ocr.detect', '12D3Ko…DETECT', '12D3Ko…PIPELN → 12D3Ko…DETECT', '232.9', '1'],
      ['2', 'ocr.recognize', '12D3Ko…RECOGN', '12D3Ko…PIPELN → 12D3Ko…RECOGN', '101.5', '2'],
    ]);
    expect(await page.locator('#query-steps').isVisible()).toBe(true);
    const hidden = await page.evaluate<boolean>(`import('/dashboard/assets/query-answer.js').then((m) => {
      const table = document.getElementById('query-steps');
      m.renderSteps(table, 'not json');
      return table.hidden && table.querySelectorAll('tbody tr').length === 0;
    })`);
    expect(hidden).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
