// What this node has learnt about each peer's honesty, from its own measurements (issue 9,
// "peers are accountable"). Pure: no timers or sockets; `now` (epoch ms) is passed in.
//
//  - Claims checked by measurement: the entry node's measured answer time per (provider,
//    model). A provider measured slower than its advert claims is ranked by the measured
//    figure from its first answer on (at most 3 answers, issue 9); the excess fades with a
//    half-life, so a provider that is fast again earns its place back.
//  - Silence checked by time: a try that outlives its expected time (however it ended: our own
//    timer, the caller's gRPC deadline, a hedge) is a fault of the peer holding it. Each fault
//    doubles the peer's back-off (Petals-style bans); a level is forgiven per quiet period.
//  - Answers checked by re-execution (src/node/verify/): a provider caught answering wrong is
//    quarantined, its routes ignored for a doubling period.
import type { PeerIdString, RouteCandidate } from './types.ts';

export interface ReputationOptions {
  /** First back-off after a fault, ms; it doubles with each further fault (default 1 s). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** One back-off level is forgiven per this long without a fault (default 30 s). */
  readonly forgiveMs?: number;
  /** First quarantine after a wrong answer, ms; doubles with each further one (default 60 s). */
  readonly quarantineMs?: number;
  readonly maxQuarantineMs?: number;
  /** Half-life of a measured excess over the claim, ms (default 20 s). */
  readonly excessHalfLifeMs?: number;
  /** A try is overdue after slackFactor × expected + slackMs (defaults 3 and 250 ms). */
  readonly slackFactor?: number;
  readonly slackMs?: number;
}

/** A peer's standing in this node's view, as `plexus routes`/`peers` and /api/cluster show it. */
export interface PeerTrust {
  readonly peer: PeerIdString;
  readonly state: 'ok' | 'demoted' | 'quarantined';
  /** Until when the current demotion or quarantine lasts, epoch ms (0 when ok). */
  readonly until: number;
  /** Tries that outlived their expected time (or failed as the peer's fault), ever. */
  readonly faults: number;
  /** Wrong answers caught by re-execution, ever. */
  readonly wrongAnswers: number;
  /** Measured answer time per model, ms (the entry node's figure). */
  readonly measuredMs: Readonly<Record<string, number>>;
}

interface Measure { ms: number; n: number; at: number }

interface PeerRecord {
  level: number;
  lastFaultAt: number;
  downUntil: number;
  faults: number;
  qLevel: number;
  quarantinedUntil: number;
  wrong: number;
  readonly measured: Map<string, Measure>;
}

/** The advert-based part of a candidate's expected time: 2 × path + queue + compute. */
export function modelledMs(c: RouteCandidate): number {
  return 2 * c.pathLatencyMs + c.queueWaitMs + c.computeMs;
}

export class Reputation {
  readonly #o: Required<ReputationOptions>;
  readonly #peers = new Map<PeerIdString, PeerRecord>();
  /**
   * Measured one-way path to an origin through a relaying next hop: origin -> next hop -> figure.
   * Nested maps, not a joined string key: route selection asks pathFloor for every route it
   * weighs, and building a ~100-character key each time was a visible part of an idle node's CPU.
   */
  readonly #paths = new Map<PeerIdString, Map<PeerIdString, Measure>>();

  constructor(options: ReputationOptions = {}) {
    this.#o = {
      backoffMs: options.backoffMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 120_000,
      forgiveMs: options.forgiveMs ?? 30_000,
      quarantineMs: options.quarantineMs ?? 60_000,
      maxQuarantineMs: options.maxQuarantineMs ?? 3_600_000,
      excessHalfLifeMs: options.excessHalfLifeMs ?? 20_000,
      slackFactor: options.slackFactor ?? 3,
      slackMs: options.slackMs ?? 250,
    };
  }

  /** A provider answered a query for `model` in `ms` as measured here (end to end from this node). */
  answered(origin: PeerIdString, model: string, ms: number, now: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const r = this.#rec(origin);
    const m = r.measured.get(model);
    if (m === undefined) {
      r.measured.set(model, { ms, n: 1, at: now });
    } else {
      // A running mean over the first answers, then an EWMA: the figure settles within 3.
      const alpha = Math.max(1 / (m.n + 1), 0.3);
      m.ms = this.#decayed(m, now) + alpha * (ms - this.#decayed(m, now));
      m.n++;
      m.at = now;
    }
    this.#forgive(r, now);
  }

  /**
   * A relayed answer (next hop ≠ provider) took `ms` end to end. What the path really costs one
   * way, (ms − the provider's compute and queue) / 2, becomes a floor under that route's metric:
   * a relay cannot advertise a path shorter than this node measures through it. Returns whether
   * the floor is now above the route's advertised path (the table should reselect).
   */
  relayed(c: RouteCandidate, ms: number, now: number): boolean {
    if (c.nextHop === c.origin || !Number.isFinite(ms) || ms < 0) return false;
    // The queue estimate counts this very query as outstanding: one compute of it is the answer's own.
    const oneWay = Math.max(0, (ms - c.computeMs - Math.max(0, c.queueWaitMs - c.computeMs)) / 2);
    let byHop = this.#paths.get(c.origin);
    if (byHop === undefined) this.#paths.set(c.origin, byHop = new Map<PeerIdString, Measure>());
    const m = byHop.get(c.nextHop);
    if (m === undefined) byHop.set(c.nextHop, { ms: oneWay, n: 1, at: now });
    else {
      const alpha = Math.max(1 / (m.n + 1), 0.3);
      m.ms = this.#decayed(m, now) + alpha * (oneWay - this.#decayed(m, now));
      m.n++;
      m.at = now;
    }
    return (this.pathFloor(c.origin, c.nextHop, now) ?? 0) > c.pathLatencyMs;
  }

  /**
   * The least one-way path metric this node accepts for `origin` through `neighbour`: the
   * measured figure when it exceeds the advertised one by a clear margin (2× + 30 ms: one-way
   * figures of honest relays on a busy machine wander by tens of ms), else undefined. Fades with
   * time like the measured compute figure.
   */
  pathFloor(origin: PeerIdString, neighbour: PeerIdString, now: number, advertisedMs = 0): number | undefined {
    const m = this.#paths.get(origin)?.get(neighbour);
    if (m === undefined) return undefined;
    const floor = this.#decayed(m, now);
    return floor > 2 * advertisedMs + 30 ? floor : undefined;
  }

  /** The time after which a try on `c` counts against the peer holding it. */
  overdueAfterMs(c: RouteCandidate): number {
    return this.#o.slackFactor * Math.max(c.expectedMs, modelledMs(c)) + this.#o.slackMs;
  }

  /** A try on `c` ended without an answer after `elapsedMs`: was the peer past its expected time? */
  overdue(c: RouteCandidate, elapsedMs: number): boolean {
    return elapsedMs > this.overdueAfterMs(c);
  }

  /** The peer failed a try by its own fault: doubles its back-off. Returns until when it is demoted. */
  fault(peer: PeerIdString, now: number): number {
    const r = this.#rec(peer);
    this.#forgive(r, now);
    r.level++;
    r.faults++;
    r.lastFaultAt = now;
    r.downUntil = now + Math.min(this.#o.maxBackoffMs, this.#o.backoffMs * 2 ** (r.level - 1));
    return r.downUntil;
  }

  /** The peer's answer disagreed with two others (or this node's own run): quarantine it. Returns until when. */
  quarantine(peer: PeerIdString, now: number): number {
    const r = this.#rec(peer);
    r.wrong++;
    r.quarantinedUntil = now + Math.min(this.#o.maxQuarantineMs, this.#o.quarantineMs * 2 ** r.qLevel);
    r.qLevel++;
    return r.quarantinedUntil;
  }

  /** Routes of a quarantined provider are ignored. */
  quarantined(peer: PeerIdString, now: number): boolean {
    return (this.#peers.get(peer)?.quarantinedUntil ?? 0) > now;
  }

  demotedUntil(peer: PeerIdString): number {
    return this.#peers.get(peer)?.downUntil ?? 0;
  }

  /**
   * The candidate as this node ranks it: a provider measured slower than its claim by more than
   * the margin gets the measured figure (its excess fading with time) as expected time.
   */
  adjust(c: RouteCandidate, now: number): RouteCandidate {
    const m = this.#peers.get(c.origin)?.measured.get(c.model);
    if (m === undefined) return c;
    const measured = this.#decayed(m, now);
    const claim = modelledMs(c);
    if (measured <= 1.5 * claim + 20 || measured <= c.expectedMs) return c;
    return { ...c, expectedMs: measured };
  }

  view(peer: PeerIdString, now: number): PeerTrust {
    const r = this.#peers.get(peer);
    if (r === undefined) return { peer, state: 'ok', until: 0, faults: 0, wrongAnswers: 0, measuredMs: {} };
    const measuredMs: Record<string, number> = {};
    for (const [model, m] of r.measured) measuredMs[model] = Math.round(this.#decayed(m, now) * 10) / 10;
    const state = r.quarantinedUntil > now ? 'quarantined' : r.downUntil > now ? 'demoted' : 'ok';
    const until = state === 'quarantined' ? r.quarantinedUntil : state === 'demoted' ? r.downUntil : 0;
    return { peer, state, until, faults: r.faults, wrongAnswers: r.wrong, measuredMs };
  }

  /** Every peer with a record. */
  views(now: number): PeerTrust[] {
    return [...this.#peers.keys()].map((p) => this.view(p, now));
  }

  /** Back-off level (for tests and logs). */
  level(peer: PeerIdString, now: number): number {
    const r = this.#peers.get(peer);
    if (r === undefined) return 0;
    this.#forgive(r, now);
    return r.level;
  }

  /**
   * The measured figure at `now`: fades with the time since the last answer (half-life), so a
   * provider no longer asked is ranked by its claim again once the figure falls within the margin.
   */
  #decayed(m: Measure, now: number): number {
    return m.ms * 2 ** (-Math.max(0, now - m.at) / this.#o.excessHalfLifeMs);
  }

  #forgive(r: PeerRecord, now: number): void {
    if (r.level === 0) return;
    const quiet = now - r.lastFaultAt;
    const steps = Math.floor(quiet / this.#o.forgiveMs);
    if (steps <= 0) return;
    r.level = Math.max(0, r.level - steps);
    r.lastFaultAt += steps * this.#o.forgiveMs;
  }

  #rec(peer: PeerIdString): PeerRecord {
    let r = this.#peers.get(peer);
    if (r === undefined) {
      r = { level: 0, lastFaultAt: 0, downUntil: 0, faults: 0, qLevel: 0, quarantinedUntil: 0, wrong: 0, measured: new Map() };
      this.#peers.set(peer, r);
    }
    return r;
  }
}
