// The throughput scenario's figures, each taken within a round (a window of every target) and
// reported as its median over the rounds with its range (throughput-windows.ts): the c=64
// throughput ratios, the c=1 local overhead and hop, and the floors of those two that the bare
// servers measure in the same rounds (bare-servers.ts).
import { ratio, round } from '../stats.ts';
import { overRounds } from './throughput-windows.ts';

type Figure = readonly [string, ReturnType<typeof overRounds>];
type Metrics = Record<string, number | null>;
/** A target's figure in round `r` by the target's key; null when it has none. */
type PerRound = (key: string, r: number) => number | null;

/** A figure's metric key for a build: `key` itself for this one, 'before' + 'Key' for a baseline. */
function figureName(tag: string, key: string): string {
  return tag === '' ? key : `${tag}${key[0]?.toUpperCase() ?? ''}${key.slice(1)}`;
}

/** Each figure's median under its name, and its range as …Min and …Max. */
function setFigures(metrics: Metrics, tag: string, figures: readonly Figure[]): void {
  for (const [k, v] of figures) {
    const name = figureName(tag, k);
    metrics[name] = round(v.median);
    metrics[`${name}Min`] = round(v.min);
    metrics[`${name}Max`] = round(v.max);
  }
}

const diff = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

/**
 * The c=64 figures of each build (`tags`: '' for this one, 'before' for a baseline): the local
 * node's and the router's queries per second over the echo's in the same round; and the bare
 * model server's and relay's, what the same stacks do with no Plexus code.
 */
export function c64Figures(metrics: Metrics, tags: readonly string[], rounds: number, qps: PerRound): void {
  const vsEcho = (key: string) => overRounds(rounds, (r) => ratio(qps(key, r), qps('echo', r)));
  for (const tag of tags) setFigures(metrics, tag, [['localVsEchoC64', vsEcho(`${tag}local`)], ['routerVsEchoC64', vsEcho(`${tag}router`)]]);
  setFigures(metrics, '', [['bareModelVsEchoC64', vsEcho('bareModel')], ['bareInlineVsEchoC64', vsEcho('bareInline')], ['bareRelayVsEchoC64', vsEcho('bareRelay')]]);
}

/**
 * The c=1 figures, each taken within a round, in ms and over the echo's round trip in that round:
 * - each build's local overhead (local − ORT in-process) and hop (router − local);
 * - their floors, the same differences of the bare servers: the bare model server − ORT
 *   in-process, and the bare relay − the echo; and the bare model server with the model on its
 *   event loop − ORT in-process, the local floor without the first goal;
 * - what each build adds above its floor (local − bare model server; hop − the relay's hop).
 */
export function c1Figures(metrics: Metrics, tags: readonly string[], rounds: number, p50: PerRound): void {
  const figures = (within: readonly [string, (r: number) => number | null][]): Figure[] => within.flatMap(([k, f]) => [
    [`${k}C1Ms`, overRounds(rounds, f)],
    [`${k}VsEchoRtt`, overRounds(rounds, (r) => ratio(f(r), p50('echo', r)))],
  ] as const);
  const floorOverhead = (r: number): number | null => diff(p50('bareModel', r), p50('ort', r));
  const floorHop = (r: number): number | null => diff(p50('bareRelay', r), p50('echo', r));
  const inlineOverhead = (r: number): number | null => diff(p50('bareInline', r), p50('ort', r));
  setFigures(metrics, '', figures([['localOverheadFloor', floorOverhead], ['localOverheadInlineFloor', inlineOverhead], ['hopFloor', floorHop]]));
  for (const tag of tags) {
    const overhead = (r: number): number | null => diff(p50(`${tag}local`, r), p50('ort', r));
    const hop = (r: number): number | null => diff(p50(`${tag}router`, r), p50(`${tag}local`, r));
    setFigures(metrics, tag, figures([
      ['localOverhead', overhead],
      ['hop', hop],
      ['localOverheadAboveFloor', (r) => diff(overhead(r), floorOverhead(r))],
      ['hopAboveFloor', (r) => diff(hop(r), floorHop(r))],
    ]));
  }
}
