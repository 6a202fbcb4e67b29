// The targets, evaluated from the metrics the scenarios recorded in this same run.
// A target whose inputs were not measured is N/A (pass: null), never guessed.
import type { ScenarioResult, TargetCheck } from './types.ts';
import { SOAK_RSS_FLAT_PCT } from './soak/tally.ts';

type Results = ReadonlyMap<string, ScenarioResult>;

function metric(results: Results, scenario: string, key: string): number | null {
  const s = results.get(scenario);
  if (s === undefined || s.status !== 'ok') return null;
  const v = s.metrics[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

const f = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3));

function na(id: string, description: string, missing: string): TargetCheck {
  return { id, description, detail: `not measured (${missing})`, pass: null };
}

export function evaluateTargets(results: Results): TargetCheck[] {
  const out: TargetCheck[] = [];
  const m = (s: string, k: string): number | null => metric(results, s, k);

  {
    const id = 'local-overhead';
    const d = 'Local query overhead over in-process ORT ≤ bare gRPC unary RTT + 20%';
    const local = m('plexus', 'localC1P50Ms');
    const ortP50 = m('limits', 'ortSileroP50Ms');
    const grpcP50 = m('limits', 'grpcRttP50Ms');
    if (local === null || ortP50 === null || grpcP50 === null) out.push(na(id, d, 'needs limits + plexus'));
    else {
      const overhead = local - ortP50;
      const limit = grpcP50 * 1.2;
      // The verdict keeps the limits (back-to-back ORT, in-process echo); the like-for-like
      // figure says how much of the gap is the daemon's and how much is idle caches and a second process.
      const ortIdle = m('limits', 'ortSileroIdleP50Ms');
      const grpcXp = m('limits', 'grpcRttXpP50Ms');
      const alike = ortIdle === null || grpcXp === null ? ''
        : `; like for like (ORT after idle ${f(ortIdle)} ms, gRPC RTT between processes ${f(grpcXp)} ms): overhead ${f(local - ortIdle)} ms = ${f((local - ortIdle) / grpcXp)}× that RTT`;
      out.push({ id, description: d, detail: `p50 overhead ${f(overhead)} ms vs limit ${f(limit)} ms (gRPC RTT ${f(grpcP50)} ms); ratio ${f(overhead / grpcP50)}×${alike}`, pass: overhead <= limit });
    }
  }
  {
    const id = 'hop-cost';
    const d = 'Each hop ≤ 1.5× bare libp2p RTT';
    const local = m('plexus', 'localC1P50Ms');
    const hop1 = m('plexus', 'hop1C1P50Ms');
    const hop2 = m('plexus', 'hop2C1P50Ms');
    const rtt = m('limits', 'libp2pRttP50Ms');
    if (local === null || hop1 === null || rtt === null) out.push(na(id, d, 'needs limits + plexus hops'));
    else {
      const hops = [hop1 - local, ...(hop2 !== null ? [hop2 - hop1] : [])];
      const worst = Math.max(...hops);
      const rttXp = m('limits', 'libp2pRttXpP50Ms');
      const alike = rttXp === null ? '' : `; libp2p RTT between processes ${f(rttXp)} ms: worst ${f(worst / rttXp)}× that`;
      out.push({ id, description: d, detail: `per-hop p50 ${hops.map(f).join(', ')} ms vs limit ${f(rtt * 1.5)} ms (libp2p RTT ${f(rtt)} ms); worst ${f(worst / rtt)}×${alike}`, pass: worst <= rtt * 1.5 });
    }
  }
  {
    const id = 'batching';
    const d = 'Batching at c=64 ≥ 3× in-process one-at-a-time loop (throughput)';
    const on = m('batching', 'batchOnC64Qps');
    const loop = m('batching', 'ortLoopQps');
    if (on === null || loop === null) out.push(na(id, d, 'batching not measured'));
    else out.push({ id, description: d, detail: `${f(on)} qps vs loop ${f(loop)} qps = ${f(on / loop)}× (need 3×)`, pass: on >= 3 * loop });
  }
  {
    const id = 'routing-quality';
    const d = 'plexus policy beats every simple policy on p99 at no higher cost';
    const s = results.get('routing');
    const pP99 = m('routing', 'plexusP99Ms');
    const pCost = m('routing', 'plexusCost');
    if (s === undefined || pP99 === null || pCost === null) out.push(na(id, d, 'routing not measured'));
    else {
      const rivals = ['random', 'round-robin', 'least-outstanding'];
      const parts: string[] = [];
      let pass = true;
      for (const r of rivals) {
        const p99 = m('routing', `${r}P99Ms`);
        const cost = m('routing', `${r}Cost`);
        if (p99 === null || cost === null) { pass = false; parts.push(`${r}: missing`); continue; }
        const ok = pP99 < p99 && pCost <= cost;
        if (!ok) pass = false;
        parts.push(`${r} p99 ${f(p99)} cost ${f(cost)}${ok ? '' : ' ✗'}`);
      }
      out.push({ id, description: d, detail: `plexus p99 ${f(pP99)} ms cost ${f(pCost)}; ${parts.join('; ')}`, pass });
    }
  }
  {
    const id = 'convergence-caps';
    const d = 'New capabilities known cluster-wide ≤ 1 s (20 nodes)';
    const v = m('convergence', 'capsMsN20');
    if (v === null) out.push(na(id, d, '20-node convergence not measured'));
    else out.push({ id, description: d, detail: `${f(v)} ms`, pass: v <= 1000 });
  }
  {
    const id = 'convergence-dead';
    const d = "Dead node's routes gone ≤ 2 s, 0 queries lost";
    const v = m('convergence', 'deadRoutesGoneMs');
    const lost = m('convergence', 'lostQueries');
    if (v === null || lost === null) out.push(na(id, d, 'death test not measured'));
    else out.push({ id, description: d, detail: `${f(v)} ms, ${lost} lost`, pass: v <= 2000 && lost === 0 });
  }
  {
    const id = 'rss-no-model';
    const d = 'Daemon with no models < 120 MB RSS';
    const v = m('footprint', 'noModelRssMb');
    if (v === null) out.push(na(id, d, 'footprint not measured'));
    else out.push({ id, description: d, detail: `${f(v)} MB`, pass: v < 120 });
  }
  {
    const id = 'rss-idle-no-model';
    const d = 'A no-model node ≤ 80 MB RSS after 10 minutes idle in a cluster';
    const v = m('idle-rss', 'idleRssMb');
    const s = m('idle-rss', 'idleRssEndS');
    if (v === null || s === null) out.push(na(id, d, 'idle-rss not run (opt-in: --only idle-rss)'));
    else if (s < 600) out.push(na(id, d, `${f(v)} MB after ${f(s)} s: the target needs 600 s`));
    else out.push({ id, description: d, detail: `${f(v)} MB after ${f(s)} s`, pass: v <= 80 });
  }
  {
    const id = 'idle-cores';
    const d = '20 idle daemons ≤ 0.1 cores in total, a dead neighbour\'s routes gone ≤ 2 s';
    const v = m('idle', 'idleCores');
    const n = m('idle', 'idleDaemons');
    const gone = m('idle', 'idleDeadGoneMs');
    if (v === null || n === null || gone === null) out.push(na(id, d, 'idle not measured'));
    else if (n !== 20) out.push(na(id, d, `measured on ${n} daemons (${f(v)} cores, gone in ${f(gone)} ms): --quick; the target needs the full run`));
    else out.push({ id, description: d, detail: `${f(v)} cores, gone in ${f(gone)} ms`, pass: v <= 0.1 && gone <= 2000 });
  }
  {
    const id = 'twenty-daemons';
    const d = '20 daemons run together on this machine';
    const v = m('footprint', 'twentyDaemonsUp');
    if (v === null) out.push(na(id, d, 'footprint not measured'));
    else out.push({ id, description: d, detail: `${v} of 20 up`, pass: v === 20 });
  }
  {
    const id = 'soak';
    const d = 'Soak (opt-in): every query answered or failed with a status by its deadline, none hung, entry RSS flat';
    const late = m('soak', 'soakLate');
    const hung = m('soak', 'soakHung');
    const growth = m('soak', 'soakEntryRssGrowthPctMax');
    const secs = m('soak', 'soakSeconds');
    if (late === null || hung === null || growth === null || secs === null) out.push(na(id, d, 'soak not run: --only soak'));
    else out.push({ id, description: d, detail: `${f(secs)} s: ${late} late, ${hung} hung, entry RSS growth ≤ ${f(growth)}% (flat: ≤ ${SOAK_RSS_FLAT_PCT}%)`, pass: late === 0 && hung === 0 && growth <= SOAK_RSS_FLAT_PCT });
  }
  out.push(...throughputTargets(m));
  return out;
}

/** Issue 13: per-query cost against a bare grpc-js echo, all from the throughput scenario's one run. */
function throughputTargets(m: (s: string, k: string) => number | null): TargetCheck[] {
  const t = (k: string): number | null => m('throughput', k);
  const errors = (t('localC64Errors') ?? 0) + (t('routerC64Errors') ?? 0);
  /** A ratio's range over the rounds (`key`Min, `key`Max), as text beside its median; empty when not measured. */
  const roundsText = (key: string): string => {
    const lo = t(`${key}Min`);
    const hi = t(`${key}Max`);
    return lo === null || hi === null ? '' : ` (rounds: ${f(lo)}–${f(hi)}×)`;
  };
  /** The ratio is a median over the c=64 rounds; its range is shown when measured. */
  const ratioCheck = (id: string, d: string, key: string, limit: number): TargetCheck => {
    const v = t(key);
    if (v === null) return na(id, d, 'throughput not measured');
    const rounds = roundsText(key);
    return { id, description: d, detail: `${f(v)}× the echo${rounds} (limit ${limit}×), ${errors} errors`, pass: v >= limit && errors === 0 };
  };
  /**
   * `floor`: the metric of the least this target's ratio can be, and what it is made of. The
   * ratio is a median over the c=1 rounds; its range (`key`Min, `key`Max) is shown when measured.
   * A median at or below zero is a difference lost in the run's noise, not a pass.
   */
  const rttCheck = (id: string, d: string, key: string, msKey: string, floor: { key: string; what: string }): TargetCheck => {
    const v = t(key);
    if (v === null) return na(id, d, 'throughput not measured');
    const least = t(floor.key);
    const rounds = roundsText(key);
    const beside = least === null ? '' : `; floor: ${f(least)}× (${floor.what})`;
    const detail = `${f(t(msKey) ?? NaN)} ms = ${f(v)}× the echo round trip (${f(t('echoC1P50Ms') ?? NaN)} ms)${rounds}${beside}`;
    if (v <= 0) return na(id, d, `${detail}: at or below zero, within this run's noise`);
    return { id, description: d, detail, pass: v <= 1 };
  };
  return [
    ratioCheck('local-throughput', 'c=64, model local: ≥ 0.5× a bare grpc-js echo in another process, 0 errors', 'localVsEchoC64', 0.5),
    ratioCheck('router-throughput', 'c=64, pure router, model one hop away: ≥ 0.4× the echo, 0 errors', 'routerVsEchoC64', 0.4),
    rttCheck('c1-local-overhead', 'c=1: local overhead over in-process ORT ≤ 1× the echo round trip', 'localOverheadVsEchoRtt', 'localOverheadC1Ms', {
      key: 'localOverheadFloorVsEchoRtt', what: 'a bare grpc-js server running the model in a worker thread, less in-process ORT, in the same rounds',
    }),
    rttCheck('c1-hop', 'c=1: each hop ≤ 1× the echo round trip', 'hopVsEchoRtt', 'hopC1Ms', { key: 'hopFloorVsEchoRtt', what: 'a bare grpc-js relay over libp2p to an echo, less the echo, in the same rounds' }),
  ];
}
