// Scenario: what Noise's length-prefix decoder costs per read, with @chainsafe/libp2p-noise's own
// length reader (a new RangeError, stack trace and all, at the end of every read) beside the
// node's (src/node/p2p/noise-decoder.ts: one RangeError made once), side by side in this
// process and in the order library, own, own, library: CPU time per read of one whole
// 3,412-byte message (a silero-vad query's size) through @libp2p/utils' LengthPrefixedDecoder,
// the decoder Noise's connections use.
import { LengthPrefixedDecoder } from '@libp2p/utils';
import type { Uint8ArrayList } from 'uint8arraylist';
import { readLength } from '../../src/node/p2p/noise-decoder.ts';
import { ratio, round } from '../stats.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';

type LengthReader = (data: Uint8Array | Uint8ArrayList) => number;

/** The library's own reader: not exported, so loaded from beside its entry point. */
async function libraryReader(): Promise<LengthReader> {
  const url = new URL('./encoder.js', import.meta.resolve('@chainsafe/libp2p-noise'));
  const mod = await import(url.href) as { uint16BEDecode?: LengthReader };
  if (typeof mod.uint16BEDecode !== 'function') throw new Error(`no uint16BEDecode in ${url.href}`);
  return mod.uint16BEDecode;
}

const MESSAGE = 3412;

/** CPU µs per read, each read one framed message. */
function usPerRead(reader: LengthReader, n: number): number {
  const wire = new Uint8Array(2 + MESSAGE);
  wire[0] = MESSAGE >> 8;
  wire[1] = MESSAGE & 0xff;
  const d = new LengthPrefixedDecoder({ lengthDecoder: reader, maxBufferSize: 16 << 20, encodingLength: () => 2 });
  let bytes = 0;
  for (let i = 0; i < n / 4; i++) for (const m of d.decode(wire)) bytes += m.byteLength; // warm-up (JIT)
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) for (const m of d.decode(wire)) bytes += m.byteLength;
  const cpu = process.cpuUsage(t0);
  if (bytes !== (n + n / 4) * MESSAGE) throw new Error(`decoded ${bytes} bytes, expected ${(n + n / 4) * MESSAGE}`);
  return (cpu.user + cpu.system) / n;
}

async function measure(ctx: ScenarioContext): Promise<{ rows: ResultRow[]; metrics: Record<string, number | null> }> {
  const library = await libraryReader();
  const n = ctx.quick ? 50_000 : 200_000;
  const order: [string, LengthReader][] = [['library (before)', library], ['own', readLength], ['own', readLength], ['library (before)', library]];
  const rows: ResultRow[] = [];
  const sums = new Map<string, number>();
  for (const [label, reader] of order) {
    const us = usPerRead(reader, n);
    rows.push({ label: `one ${MESSAGE}-byte message per read: ${label}`, values: { cpuUsPerRead: round(us) } });
    sums.set(label, (sums.get(label) ?? 0) + us / 2);
  }
  const before = sums.get('library (before)') ?? null;
  const after = sums.get('own') ?? null;
  return { rows, metrics: { libraryUsPerRead: round(before), ownUsPerRead: round(after), cpuRatio: round(ratio(after, before)) } };
}

export const noiseDecodeScenario: Scenario = {
  name: 'noise-decode',
  title: 'Noise\'s length-prefix decoder per read: the library\'s length reader vs the node\'s',
  async run(ctx): Promise<ScenarioResult> {
    const started = performance.now();
    const { rows, metrics } = await measure(ctx);
    return {
      name: 'noise-decode', title: this.title, status: 'ok', durationMs: performance.now() - started,
      columns: ['cpuUsPerRead'], rows, metrics,
      notes: [
        `own / library: ${metrics['cpuRatio'] ?? '–'}× the CPU per read (means of two runs each, order library, own, own, library).`,
        'cpuUsPerRead: process.cpuUsage over the loop ÷ reads; each read is one whole message, so every read ends on a boundary, as a read of a whole Noise message does.',
      ],
    };
  },
};
