// `plexus query` with images, as a user runs it (bash bin/plexus, a separate process) against a
// real in-process node hosting the OCR capabilities: ocr.read prints the lines of text, --json
// the tensors (and the text and boxes beside them), ocr.detect its boxes with scores, and a
// directory of images works as one of WAV files. Images rendered by ImageMagick (DejaVu Sans).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, startClusterNode, tempDir, type ClusterNode } from '../cluster/helpers.ts';
import { HAS_CONVERT, OCR_MODELS, squash, textImage } from '../inference/ocr-images.ts';
import { plexus, type Run } from './run-plexus.ts';

let node: ClusterNode;
let dir: string;
let receipt: string;
/** The four CLI runs, started side by side once the node is up (each test awaits its own). */
let runs: Record<'read' | 'json' | 'detect' | 'dir', Promise<Run>>;

describe.skipIf(!HAS_CONVERT)('plexus query with images', () => {
  beforeAll(async () => {
    node = await startClusterNode({ models: OCR_MODELS });
    dir = tempDir('plexus-query-ocr-');
    receipt = path.join(tempDir('plexus-query-ocr-'), 'receipt.png');
    writeFileSync(receipt, textImage(['HELLO WORLD', 'PLEXUS 2026']));
    writeFileSync(path.join(dir, 'a-receipt.png'), textImage(['HELLO WORLD', 'PLEXUS 2026']));
    writeFileSync(path.join(dir, 'b-photo.jpg'), textImage(['COFFEE 350'], 'jpg'));
    writeFileSync(path.join(dir, 'c-notes.txt'), 'plain text, not an image');
    const query = (model: string, input: string, ...more: string[]): Promise<Run> => plexus(['query', '--target', node.grpc, '--model', model, '--input', input, ...more]);
    runs = {
      read: query('ocr.read', receipt), json: query('ocr.read', receipt, '--json'), detect: query('ocr.detect', receipt),
      dir: query('ocr.read', dir, '--concurrency', '1'),
    };
    // Nothing rejects unobserved while the tests wait their turn.
    for (const r of Object.values(runs)) r.catch(() => undefined);
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    removeTempDirs();
  });

  it('ocr.read prints the lines of text, one per line, then who served it', async () => {
    const r = await runs.read;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.slice(0, 2).map(squash)).toEqual(['HELLOWORLD', 'PLEXUS2026']);
    expect(lines[2]).toMatch(new RegExp(`^served by …${node.peerId.slice(-8)} \\(the node asked\\), cost 0`));
  }, 60_000);

  it('--json prints the tensors, with the text and boxes beside them', async () => {
    const r = await runs.json;
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      model: string; outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
      text: string[]; boxes: { corners: [number, number][]; score: number }[];
    };
    expect(out.model).toBe('ocr-read');
    expect(out.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([['text', 'BYTES', [2]], ['boxes', 'FP32', [2, 4, 2]], ['scores', 'FP32', [2]]]);
    expect((out.outputs[0]?.data as string[]).map(squash)).toEqual(['HELLOWORLD', 'PLEXUS2026']);
    expect(out.text.map(squash)).toEqual(['HELLOWORLD', 'PLEXUS2026']);
    expect(out.boxes).toHaveLength(2);
    // The first line's box: left edge near x=20, above the second line's.
    const [first, second] = out.boxes;
    expect(first?.corners[0]?.[0]).toBeLessThan(40);
    expect(first?.corners[0]?.[1]).toBeLessThan(second?.corners[0]?.[1] ?? 0);
    expect(first?.score).toBeGreaterThan(0.5);
  }, 60_000);

  it('ocr.detect prints its boxes with their scores', async () => {
    const r = await runs.detect;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('ocr-detect: 2 text box(es)');
    for (const [i, line] of [lines[1], lines[2]].entries()) {
      expect(line).toMatch(new RegExp(`^box ${i + 1} {2}score 0\\.\\d{3} {2}\\(\\d+,\\d+\\) \\(\\d+,\\d+\\) \\(\\d+,\\d+\\) \\(\\d+,\\d+\\)$`));
    }
  }, 60_000);

  it('a directory: a line per image with its text, the non-image an INVALID_ARGUMENT failure, exit 1', async () => {
    const r = await runs.dir;
    expect(r.code, r.stderr).toBe(1);
    const byFile = new Map(r.stdout.split('\n').map((l) => [l.split('  ')[0] ?? '', l]));
    expect(squash(byFile.get('a-receipt.png') ?? '')).toMatch(/^ARECEIPTPNG2LINESHELLOWORLDPLEXUS2026\d+MSSERVEDBY/);
    expect(squash(byFile.get('b-photo.jpg') ?? '')).toMatch(/^BPHOTOJPG1LINESCOFFEE350\d+MSSERVEDBY/);
    expect(byFile.get('c-notes.txt')).toMatch(/^c-notes\.txt {2}INVALID_ARGUMENT: input 'image': not a readable image/);
    expect(r.stdout).toMatch(/^3 +2 +1 +INVALID_ARGUMENT 1 /m);
  }, 60_000);
});
