// `npm run bundle` (part of `npm run build`): the daemon bundle in dist/daemon/ that bin/plexus
// runs. esbuild bundles the CLI and the ORT worker from dist/ (minified, split where the CLI
// imports a command lazily, every file flat two levels under the root so the module-relative
// paths to proto/, package.json and ./ort-worker.js hold); ONNX Runtime and sharp stay external.
//
// One rewrite on the way: libp2p's peer store and peer record order multiaddrs and protocol names
// with String.prototype.localeCompare, only to be deterministic. That call is the daemon's one
// use of ICU collation, and the first one pages in ~3 MB of ICU's collation data and code that
// stay resident (README, Memory). Here those comparisons order by UTF-16 code units instead, as
// Plexus's own sorts do (src/node/order.ts). The build fails when a rewritten file no longer has
// the calls it expects, so a libp2p upgrade cannot bring the collator back unnoticed.
import { cpSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The libp2p files that call localeCompare, and how many calls each holds (libp2p 3.x). */
export const CODE_UNIT_ORDER_FILES: Readonly<Record<string, number>> = {
  '@libp2p/peer-record/dist/src/peer-record/utils.js': 1,
  '@libp2p/peer-store/dist/src/utils/dedupe-addresses.js': 1,
  '@libp2p/peer-store/dist/src/utils/to-peer-pb.js': 2,
};

const HELPER = 'const __plexusCodeUnitOrder = (a, b) => (a < b ? -1 : a > b ? 1 : 0);\n';
// `x.localeCompare(y)` where x and y are a name, a property path, or one with a call of no arguments.
const OPERAND = String.raw`[\w$]+(?:\.[\w$]+)*(?:\(\))?`;
const CALL = new RegExp(`(${OPERAND})\\.localeCompare\\((${OPERAND})\\)`, 'g');

/** `source` with each `x.localeCompare(y)` ordered by code units; throws unless there are `expected` of them and no other. */
export function codeUnitOrder(source: string, expected: number, file: string): string {
  let n = 0;
  const out = source.replace(CALL, (_m, a: string, b: string) => { n++; return `__plexusCodeUnitOrder(${a}, ${b})`; });
  if (n !== expected || out.includes('localeCompare')) {
    throw new Error(`${file}: expected ${expected} localeCompare call(s) of the form x.localeCompare(y), rewrote ${n}${out.includes('localeCompare') ? ' and others remain' : ''}; update bin/bundle.ts`);
  }
  return HELPER + out;
}

/** The rewrite as an esbuild plugin; `rewritten` collects the files it rewrote. */
function codeUnitOrderPlugin(rewritten: Set<string>): Plugin {
  return {
    name: 'plexus-code-unit-order',
    setup(b) {
      b.onLoad({ filter: /[\\/]node_modules[\\/]@libp2p[\\/]peer-(store|record)[\\/]dist[\\/]src[\\/].*\.js$/ }, (args) => {
        const key = Object.keys(CODE_UNIT_ORDER_FILES).find((k) => args.path.replaceAll('\\', '/').endsWith(`/node_modules/${k}`));
        if (key === undefined) return undefined;
        rewritten.add(key);
        return { contents: codeUnitOrder(readFileSync(args.path, 'utf8'), CODE_UNIT_ORDER_FILES[key] ?? 0, key), loader: 'js' };
      });
    },
  };
}

async function main(): Promise<void> {
  const rewritten = new Set<string>();
  await build({
    entryPoints: [join(ROOT, 'dist/cli/main.js'), join(ROOT, 'dist/inference/worker/ort-worker.js')],
    bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node22', minify: true,
    sourcemap: true, sourcesContent: false, entryNames: '[name]', outdir: join(ROOT, 'dist/daemon'),
    external: ['onnxruntime-node', 'sharp', '@img/*'], logLevel: 'warning',
    banner: { js: "import{createRequire as __plexusCreateRequire}from'node:module';const require=__plexusCreateRequire(import.meta.url);" },
    plugins: [codeUnitOrderPlugin(rewritten)],
  });
  // Every file the rewrite expects was bundled and rewritten (a moved file would otherwise slip through).
  for (const k of Object.keys(CODE_UNIT_ORDER_FILES)) {
    if (!rewritten.has(k)) throw new Error(`${k} was not bundled; update bin/bundle.ts`);
  }
  for (const d of ['dist/node/http/dashboard/assets', 'dist/daemon/assets']) {
    cpSync(join(ROOT, 'src/node/http/dashboard/assets'), join(ROOT, d), { recursive: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
