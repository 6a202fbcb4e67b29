// Scenario: what splitting a read into Noise messages costs, with @chainsafe/libp2p-noise's own
// decoder (@libp2p/utils' LengthPrefixedDecoder and the library's length reader, which throws a
// new RangeError at the end of every read), the same decoder with the reader the node used
// before (one RangeError made once, thrown at the end of every read), and the node's splitter
// (src/node/p2p/noise-decoder.ts: NoiseMessageSplitter, which never throws), in this process. Each read is one whole 3,412-byte
// message (a silero-vad query's size), the common case. Two regimes:
//  - warm: reads back to back, CPU time per read, in the order library, made-once, own, own,
//    made-once, library;
//  - after an idle wait: each read after a 1 ms timer, as every read is on a node at c=1 (its
//    caches and branch predictors cold), wall time per read, the three in a rotating order.
import { setTimeout as sleep } from 'node:timers/promises';
import { LengthPrefixedDecoder } from '@libp2p/utils';
import type { Uint8ArrayList } from 'uint8arraylist';
import { NoiseMessageSplitter } from '../../src/node/p2p/noise-decoder.ts';
import { percentile, ratio, round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';

type LengthReader = (data: Uint8Array | Uint8ArrayList) => number;
interface Splitter { decode(data: Uint8Array): Iterable<Uint8Array | Uint8ArrayList> }

/** The library's own reader: not exported, so loaded from beside its entry point (also used by test/node/p2p/noise-decoder.test.ts). */
export async function libraryReader(): Promise<LengthReader> {
  const url = new URL('./encoder.js', import.meta.resolve('@chainsafe/libp2p-noise'));
  const mod = await import(url.href) as { uint16BEDecode?: LengthReader };
  if (typeof mod.uint16BEDecode !== 'function') throw new Error(`no uint16BEDecode in ${url.href}`);
  return mod.uint16BEDecode;
}

/** The node's reader before NoiseMessageSplitter: the library's loop still stopped on a RangeError, made once. */
const NEED_MORE = new RangeError('Could not decode int16BE');
const madeOnceReader: LengthReader = (data) => {
  if (data.length < 2) throw NEED_MORE;
  return data instanceof Uint8Array ? ((data[0] ?? 0) << 8) + (data[1] ?? 0) : data.getUint16(0);
};

const MESSAGE = 3412;

function wire(): Uint8Array {
  const w = new Uint8Array(2 + MESSAGE);
  w[0] = MESSAGE >> 8;
  w[1] = MESSAGE & 0xff;
  return w;
}

/** One read through `s`; throws unless it gave the one whole message. */
function readOnce(s: Splitter, w: Uint8Array): void {
  let bytes = 0;
  for (const m of s.decode(w)) bytes += m.byteLength;
  if (bytes !== MESSAGE) throw new Error(`decoded ${bytes} bytes, expected ${MESSAGE}`);
}

/** CPU µs per read, back to back. */
function warmUsPerRead(s: Splitter, n: number): number {
  const w = wire();
  for (let i = 0; i < n / 4; i++) readOnce(s, w); // warm-up (JIT)
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) readOnce(s, w);
  const cpu = process.cpuUsage(t0);
  return (cpu.user + cpu.system) / n;
}

/** Wall µs of each read made after a 1 ms timer, the splitters taking turns in a rotating order. */
async function idleUsPerRead(splitters: readonly Splitter[], n: number): Promise<number[][]> {
  const w = wire();
  const times: number[][] = splitters.map(() => []);
  for (let i = 0; i < n + n / 5; i++) {
    for (let j = 0; j < splitters.length; j++) {
      const k = (i + j) % splitters.length;
      const s = splitters[k];
      if (s === undefined) continue;
      await sleep(1);
      const t0 = process.hrtime.bigint();
      readOnce(s, w);
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      if (i >= n / 5) times[k]?.push(us); // the first fifth warms up
    }
  }
  return times;
}

const KINDS = ['library', 'madeOnce', 'own'] as const;
type Kind = typeof KINDS[number];
const LABELS: Record<Kind, string> = { library: 'library (before)', madeOnce: 'library decoder, RangeError made once (the node before)', own: 'own splitter' };

async function measure(ctx: ScenarioContext): Promise<{ rows: ResultRow[]; metrics: Record<string, number | null> }> {
  const reader = await libraryReader();
  const make = (k: Kind): Splitter => (k === 'own' ? new NoiseMessageSplitter()
    : new LengthPrefixedDecoder({ lengthDecoder: k === 'library' ? reader : madeOnceReader, maxBufferSize: 16 << 20, encodingLength: () => 2 }));
  const n = ctx.quick ? 50_000 : 200_000;
  const rows: ResultRow[] = [];
  const warm: Record<Kind, number> = { library: 0, madeOnce: 0, own: 0 };
  for (const k of [...KINDS, ...[...KINDS].reverse()]) {
    const us = warmUsPerRead(make(k), n);
    rows.push({ label: `warm, one ${MESSAGE}-byte message per read: ${LABELS[k]}`, values: { cpuUsPerRead: round(us), p50UsPerRead: null, meanUsPerRead: null } });
    warm[k] += us / 2;
  }
  const idle = await idleUsPerRead(KINDS.map(make), ctx.quick ? 1000 : 3000);
  const mean = (a: readonly number[]): number | null => (a.length === 0 ? null : a.reduce((x, y) => x + y, 0) / a.length);
  const p50: Record<Kind, number | null> = { library: null, madeOnce: null, own: null };
  KINDS.forEach((k, i) => {
    const t = idle[i] ?? [];
    p50[k] = t.length === 0 ? null : percentile(t, 50);
    rows.push({ label: `each read after a 1 ms idle wait: ${LABELS[k]}`, values: { cpuUsPerRead: null, p50UsPerRead: round(p50[k]), meanUsPerRead: round(mean(t)) } });
  });
  return {
    rows,
    metrics: {
      libraryUsPerRead: round(warm.library), madeOnceUsPerRead: round(warm.madeOnce), ownUsPerRead: round(warm.own), cpuRatio: round(ratio(warm.own, warm.library)),
      idleLibraryP50Us: round(p50.library), idleMadeOnceP50Us: round(p50.madeOnce), idleOwnP50Us: round(p50.own),
      idleP50Ratio: round(ratio(p50.own, p50.library)), idleP50RatioVsMadeOnce: round(ratio(p50.own, p50.madeOnce)),
    },
  };
}

export const noiseDecodeScenario: Scenario = {
  name: 'noise-decode',
  title: 'Splitting a read into Noise messages: the library\'s decoder vs the node\'s splitter',
  async run(ctx): Promise<ScenarioResult> {
    const started = performance.now();
    const { rows, metrics } = await measure(ctx);
    return {
      name: 'noise-decode', title: this.title, status: 'ok', durationMs: performance.now() - started,
      columns: ['cpuUsPerRead', 'p50UsPerRead', 'meanUsPerRead'], rows, metrics,
      notes: [
        `own / library: warm ${metrics['cpuRatio'] ?? '–'}× the CPU per read (means of two runs each, order library, made-once, own, own, made-once, library); after an idle wait ${metrics['idleP50Ratio'] ?? '–'}× the p50 wall time per read (${metrics['idleP50RatioVsMadeOnce'] ?? '–'}× the node's reader before).`,
        'cpuUsPerRead: process.cpuUsage over the loop ÷ reads; each read is one whole message, so every read ends on a boundary, as a read of a whole Noise message does. p50/meanUsPerRead: wall time of one read made after a 1 ms timer (hrtime), the three taking turns in a rotating order.',
      ],
    };
  },
};
