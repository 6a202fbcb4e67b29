// bin/bundle.ts, the daemon bundle's build: libp2p's localeCompare calls (the daemon's only use of
// ICU collation, ~3 MB resident once loaded) are rewritten to code-unit order, a file whose calls
// no longer match what the build expects fails it, and the built bundle has no localeCompare left.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runInThisContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CODE_UNIT_ORDER_FILES, codeUnitOrder } from '../../bin/bundle.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const BUNDLE = path.join(REPO, 'dist/daemon');

/** Runs a rewritten module body and returns what it exports as `result`. */
function evaluate(source: string): unknown {
  return runInThisContext(`(() => {\n${source}\nreturn result;\n})()`) as unknown;
}

describe('codeUnitOrder', () => {
  it('rewrites each x.localeCompare(y) form libp2p uses, and the result orders by UTF-16 code units', () => {
    const src = [
      'const s1 = (a, b) => a.toString().localeCompare(b.toString());',
      'const s2 = (a, b) => a.multiaddr.toString().localeCompare(b.multiaddr.toString());',
      'const s3 = (a, b) => { return a.localeCompare(b); };',
      "const words = ['b', 'B', 'a', '/ip4/1', '/dns4/x', 'é', 'e'];",
      'const result = [[...words].sort(s3), [...words].map((w) => ({ toString: () => w })).sort(s1).map(String), [...words].map((w) => ({ multiaddr: w })).sort(s2).map((o) => o.multiaddr)];',
    ].join('\n');
    const out = codeUnitOrder(src, 3, 'x.js');
    expect(out).not.toContain('localeCompare');
    const byCodeUnit = ['/dns4/x', '/ip4/1', 'B', 'a', 'b', 'e', 'é'];
    expect(evaluate(out)).toEqual([byCodeUnit, byCodeUnit, byCodeUnit]);
    // ICU's order differs (case and accents interleaved): the rewrite is what changes it.
    expect(evaluate(src)).not.toEqual([byCodeUnit, byCodeUnit, byCodeUnit]);
  });

  it('fails the build when a file has more, fewer or other calls than expected', () => {
    expect(() => codeUnitOrder('x.localeCompare(y); y.localeCompare(x);', 1, 'f.js')).toThrow(/f\.js: expected 1 localeCompare call\(s\).*rewrote 2; update bin\/bundle\.ts/);
    expect(() => codeUnitOrder('const a = 1;', 1, 'f.js')).toThrow(/rewrote 0/);
    expect(() => codeUnitOrder('x.localeCompare(y); list.sort((a, b) => a[0].localeCompare(b[0]));', 1, 'f.js')).toThrow(/rewrote 1 and others remain/);
  });

  it('expects exactly the calls the installed libp2p files hold', () => {
    for (const [file, n] of Object.entries(CODE_UNIT_ORDER_FILES)) {
      const source = readFileSync(path.join(REPO, 'node_modules', file), 'utf8');
      expect(source.split('.localeCompare(').length - 1, file).toBe(n);
      expect(codeUnitOrder(source, n, file)).not.toContain('localeCompare');
    }
  });
});

describe.skipIf(!existsSync(path.join(BUNDLE, 'main.js')))('the built daemon bundle', () => {
  it('holds no localeCompare, so the daemon never loads ICU collation', () => {
    const js = readdirSync(BUNDLE).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(2);
    expect(js.filter((f) => readFileSync(path.join(BUNDLE, f), 'utf8').includes('localeCompare'))).toEqual([]);
  });
});
