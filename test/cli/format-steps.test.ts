// `plexus query` prints one line per pipeline step call from plexus.steps.
import { describe, expect, it } from 'vitest';
import { formatSteps } from '../../src/cli/format-steps.ts';

describe('formatSteps', () => {
  it('prints each step call with its provider, route, cost and time', () => {
    const steps = [
      { capability: 'ocr.detect', served_by: '12D3KooWXXXXhrFydubc', route: '12D3KooWPPPP93qgeNwA,12D3KooWXXXXhrFydubc', ms: 232.9, cost: 0 },
      { capability: 'ocr.recognize', served_by: '12D3KooWPPPP93qgeNwA', route: '12D3KooWPPPP93qgeNwA', ms: 914, cost: 2 },
    ];
    expect(formatSteps({ 'plexus.steps': JSON.stringify(steps) })).toBe(
      'step ocr.detect: served by …hrFydubc via …93qgeNwA → …hrFydubc, cost 0, 232.9 ms\n'
      + 'step ocr.recognize: served by …93qgeNwA, cost 2, 914 ms\n',
    );
  });
  it('prints nothing for an answer without steps or with a malformed list', () => {
    expect(formatSteps({})).toBe('');
    expect(formatSteps({ 'plexus.steps': 'not json' })).toBe('');
    expect(formatSteps({ 'plexus.steps': '[{"capability":1}]' })).toBe('');
  });
});
