// Scenario (opt-in, `npm run bench -- --only soak`): a soak. Five daemons (bench/soak/cluster.ts)
// under mixed load for 10 minutes (--quick: 2; PLEXUS_SOAK_MS sets any length): speech.vad
// queries (the 5.4 s speech WAV) and raw silero-vad windows enter at both entry nodes, each
// with a deadline (plexus.deadline_ms); a provider is SIGKILLed every 20-40 s and started again
// in its own directory 2-6 s later; a rogue peer (bench/soak/rogue-loop.ts) floods a random
// node with signed fake origins and dial hints, then garbage, every few seconds. Per window:
// queries sent, answered, failed by status, answered or failed after their deadline (+ a
// tolerance), hung (no answer by the deadline + a grace), and each daemon's RSS.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { createKServeClient, sileroInferRequest, type KServeClient } from '../kserve-client.ts';
import { requireProjectFiles } from '../procs.ts';
import { round, summarize } from '../stats.ts';
import { chaosLoop, sleepUnless, startSoakCluster, type Slot } from '../soak/cluster.ts';
import { rogueLoop } from '../soak/rogue-loop.ts';
import { emptyTally, growthPct, record, SOAK_RSS_FLAT_PCT, SOAK_TOLERANCE_MS, statusSummary, type Ended, type WindowTally } from '../soak/tally.ts';
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from '../types.ts';

const SPEECH_WAV = readFileSync(fileURLToPath(new URL('../../test/fixtures/speech-22k-mono.wav', import.meta.url)));
/** The caller gives up this long after the deadline: a query still open then has hung. */
const HANG_GRACE_MS = 5000;

interface Kind { readonly name: string; readonly deadlineMs: number; readonly workers: number; readonly request: (deadlineMs: number) => unknown }

const deadlineParam = (ms: number): Record<string, unknown> => ({ 'plexus.deadline_ms': { string_param: String(ms) } });
const KINDS: readonly Kind[] = [
  {
    name: 'speech.vad', deadlineMs: 8000, workers: 1,
    request: (d) => ({ model_name: 'speech.vad', parameters: deadlineParam(d), inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [SPEECH_WAV] } }] }),
  },
  { name: 'silero-vad', deadlineMs: 3000, workers: 2, request: (d) => sileroInferRequest('silero-vad', deadlineParam(d)) },
];

async function oneQuery(client: KServeClient, kind: Kind): Promise<Ended> {
  const t0 = performance.now();
  const d = kind.deadlineMs;
  let watchdog: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<Ended>((resolve) => { watchdog = setTimeout(() => resolve({ elapsedMs: performance.now() - t0, deadlineMs: d, gaveUp: true }), d + HANG_GRACE_MS + 5000); });
  const call = client.infer(kind.request(d), d + HANG_GRACE_MS).then(
    (): Ended => ({ elapsedMs: performance.now() - t0, deadlineMs: d, gaveUp: false }),
    (e: unknown): Ended => {
      const elapsedMs = performance.now() - t0;
      const code = (e as Partial<grpc.ServiceError>).code ?? grpc.status.UNKNOWN;
      // grpc-js ends the call itself at deadline + grace: nobody answered.
      if (code === grpc.status.DEADLINE_EXCEEDED && elapsedMs >= d + HANG_GRACE_MS - 50) return { elapsedMs, deadlineMs: d, gaveUp: true };
      return { elapsedMs, deadlineMs: d, status: grpc.status[code] ?? `code ${code}`, gaveUp: false };
    },
  );
  const out = await Promise.race([call, gaveUp]);
  clearTimeout(watchdog);
  return out;
}

/** Waits until a query of every kind succeeds at every entry (the cluster has formed). */
async function warm(clients: readonly KServeClient[], ctx: ScenarioContext): Promise<void> {
  for (const c of clients) {
    for (const k of KINDS) {
      for (let i = 0; ; i++) {
        const e = await oneQuery(c, { ...k, deadlineMs: 20_000 });
        if (e.status === undefined && !e.gaveUp) break;
        if (i >= 30) throw new Error(`soak: ${k.name} still fails at an entry node after 30 tries: ${e.status ?? 'hung'}`);
        if (i === 0) ctx.log(`soak: waiting for the cluster (${k.name}: ${e.status ?? 'hung'})`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

function rssAt(s: Slot, atMs: number): number | null {
  const before = s.rss.filter((r) => r.atMs <= atMs);
  return before.length > 0 ? (before[before.length - 1]?.mb ?? null) : null;
}

function durationMs(ctx: ScenarioContext): number {
  const env = Number(process.env['PLEXUS_SOAK_MS']);
  if (Number.isFinite(env) && env > 0) return env;
  return ctx.quick ? 120_000 : 600_000;
}

export const soakScenario: Scenario = {
  name: 'soak',
  title: 'Soak: 5 daemons, mixed load with deadlines, random kills and restarts, a rogue peer (opt-in)',
  optIn: true,
  async run(ctx): Promise<ScenarioResult> {
    requireProjectFiles(['src/node/daemon.ts', 'src/routing/peer-limits.ts']);
    const started = performance.now();
    const total = durationMs(ctx);
    const windowMs = Math.min(60_000, Math.max(10_000, Math.round(total / 4)));
    const windows: WindowTally[] = Array.from({ length: Math.ceil(total / windowMs) }, emptyTally);
    const examples: string[] = [];
    ctx.log(`soak: starting 5 daemons for ${round(total / 1000)} s in windows of ${round(windowMs / 1000)} s`);
    const cluster = await startSoakCluster();
    const clients = cluster.entries.map((e) => createKServeClient(e.grpc));
    try {
      await warm(clients, ctx);
      const t0 = performance.now();
      const now = (): number => performance.now() - t0;
      const stopped = (): boolean => now() >= total;
      cluster.sampleRss(0);
      const sampler = setInterval(() => { cluster.sampleRss(now()); }, 5000);
      const worker = async (client: KServeClient, entry: string, kind: Kind): Promise<void> => {
        while (!stopped()) {
          const sentAt = now();
          const w = windows[Math.min(windows.length - 1, Math.floor(sentAt / windowMs))] as WindowTally;
          w.sent++;
          const e = await oneQuery(client, kind);
          const o = record(w, e, SOAK_TOLERANCE_MS);
          if ((o.kind === 'late' || o.kind === 'hung') && examples.length < 8) {
            examples.push(`${o.kind}: ${kind.name} at ${entry}, sent at ${round(sentAt / 1000)} s, ended after ${round(e.elapsedMs)} ms (deadline ${kind.deadlineMs} ms)${o.kind === 'late' ? `, ${o.status}` : ''}`);
          }
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
        }
      };
      const load = clients.flatMap((c, i) => KINDS.flatMap((k) => Array.from({ length: k.workers }, () => worker(c, `n${i}`, k))));
      const chaos = chaosLoop(cluster.slots, stopped, [20_000, 40_000], [2000, 6000]);
      const rogue = rogueLoop(() => cluster.addrs(), stopped, { poolSize: ctx.quick ? 300 : 600, perCycle: 200, everyMs: [3000, 6000] });
      // The caller's own event loop: a late figure taken while it stalled is the machine's, not a node's.
      const lag = monitorEventLoopDelay({ resolution: 20 });
      lag.enable();
      const progress = setInterval(() => {
        const k = Math.floor(now() / windowMs) - 1;
        const w = windows[k];
        if (w !== undefined) w.callerLagMaxMs = lag.max / 1e6;
        lag.reset();
        if (w !== undefined) ctx.log(`soak: window ${k + 1}: sent ${w.sent}, ok ${w.ok}, failed ${w.failed}, late ${w.late}, hung ${w.hung}`);
      }, windowMs);
      await sleepUnless(total, () => false);
      const [chaosStats, rogueStats] = await Promise.all([chaos, rogue, ...load]);
      clearInterval(progress);
      const last = windows[windows.length - 1];
      if (last !== undefined && last.callerLagMaxMs === null) last.callerLagMaxMs = lag.max / 1e6;
      lag.disable();
      clearInterval(sampler);
      cluster.sampleRss(now());
      const r = report(started, windows, windowMs, cluster.slots, total, chaosStats, rogueStats);
      return { ...r, notes: [...r.notes, ...examples.map((x) => `example ${x}`)] };
    } finally {
      for (const c of clients) c.close();
      await cluster.stop();
    }
  },
};

function report(
  started: number, windows: readonly WindowTally[], windowMs: number, slots: readonly Slot[], total: number,
  chaos: Awaited<ReturnType<typeof chaosLoop>>, rogue: Awaited<ReturnType<typeof rogueLoop>>,
): ScenarioResult {
  const rows: ResultRow[] = windows.map((w, k) => ({
    label: `window ${k + 1} (${round((k * windowMs) / 1000)}-${round((Math.min(total, (k + 1) * windowMs)) / 1000)} s)`,
    values: {
      sent: w.sent, ok: w.ok, failed: w.failed, failedBy: statusSummary(w.byStatus), late: w.late, hung: w.hung,
      maxOverMs: Number.isFinite(w.maxOverMs) ? round(w.maxOverMs) : null, callerLagMaxMs: round(w.callerLagMaxMs), okP50Ms: w.okMs.length > 0 ? round(summarize(w.okMs).p50) : null,
      rssMbPerNode: slots.map((s) => { const v = rssAt(s, Math.min(total, (k + 1) * windowMs)); return v === null ? '–' : String(round(v)); }).join(' / '),
    },
  }));
  const afterFirst = Math.min(total, windowMs);
  const growths: number[] = [];
  for (const s of slots) {
    const start = rssAt(s, 0);
    const base = rssAt(s, afterFirst);
    const end = s.rss[s.rss.length - 1]?.mb ?? null;
    const g = growthPct(base, end);
    if (!s.killable && g !== null) growths.push(g);
    rows.push({
      label: `${s.name} (${s.killable ? `killed and restarted ${s.restarts}×; end = its last incarnation` : 'entry, never killed'})`,
      values: { rssStartMb: round(start), rssAfterW1Mb: round(base), rssEndMb: round(end), rssGrowthPct: g === null ? null : round(g) },
    });
  }
  const sum = (f: (w: WindowTally) => number): number => windows.reduce((a, w) => a + f(w), 0);
  const growthMax = growths.length > 0 ? Math.max(...growths) : null;
  return {
    name: 'soak', title: soakScenario.title, status: 'ok', durationMs: performance.now() - started,
    columns: ['sent', 'ok', 'failed', 'failedBy', 'late', 'hung', 'maxOverMs', 'callerLagMaxMs', 'okP50Ms', 'rssMbPerNode', 'rssStartMb', 'rssAfterW1Mb', 'rssEndMb', 'rssGrowthPct'],
    rows,
    metrics: {
      soakSeconds: round(total / 1000), soakSent: sum((w) => w.sent), soakOk: sum((w) => w.ok), soakFailed: sum((w) => w.failed),
      soakLate: sum((w) => w.late), soakHung: sum((w) => w.hung), soakKills: chaos.kills, soakRestarts: chaos.restarts,
      soakEntryRssGrowthPctMax: growthMax === null ? null : round(growthMax),
    },
    notes: [
      `n0 (default models) and n1 (no models) are the entry nodes; n2-n4 host the default models. Per entry: ${KINDS.map((k) => `${k.workers}× ${k.name} (deadline ${k.deadlineMs} ms)`).join(', ')}, 50-250 ms between queries.`,
      `late: ended more than ${SOAK_TOLERANCE_MS} ms after its deadline (measured by the caller); hung: no answer ${HANG_GRACE_MS} ms after its deadline; maxOverMs: the latest ending relative to the deadline (negative: all early).`,
      `chaos: ${chaos.kills} SIGKILLs, ${chaos.restarts} restarts, ${chaos.restartFailures} failed restarts${chaos.firstFailure !== undefined ? ` (${chaos.firstFailure})` : ''}.`,
      `rogue: ${rogue.cycles} cycles (a fresh identity each), ${rogue.originsSent} signed fake origins with 16 dial hints each, ${rogue.garbageFrames} garbage frames; ${rogue.refused} cycles refused or cut short by the node${rogue.firstRefusal !== undefined ? ` (first: ${rogue.firstRefusal})` : ''}.`,
      'callerLagMaxMs: the longest stall of the bench process\'s own event loop in the window (the caller measures late and hung: a stall there inflates both).',
      'failedBy counts failed and late queries by status (OK: answered, but late).',
      `RSS flat: the entry nodes' RSS at the end within ${SOAK_RSS_FLAT_PCT}% of their RSS after the first window (warm-up excluded). rssMbPerNode: n0 / n1 / n2 / n3 / n4 at the window's end (– while killed).`,
    ],
  };
}
