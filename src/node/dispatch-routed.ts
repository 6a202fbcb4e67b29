// The routing dispatcher: parse the caller's constraints, pick routes from the table, run
// locally when this node is the best provider, else forward to the next hop; fail over to the
// next candidate on a peer failure while the deadline allows.
//
// Path choice: the ENTRY node picks the provider (origin + concrete model); every hop then
// picks its own next hop toward that origin from its own table (like IP forwarding toward a
// destination). Only the entry node fails over between providers; a hop retries another next
// hop toward the same origin when its first choice is unreachable.
//
// Response parameters: plexus.served_by, plexus.route (entry first), plexus.cost (price of the
// provider), plexus.hop_ms (for each node on the route, entry first, the ms the query spent
// at that node and everything after it; the last value is the provider's own time), and
// plexus.verified_by when the answer was cross-checked (src/node/verify/).
import { DeadlineExceededError, NoFeasibleRouteError, PeerUnavailableError, RemoteError } from '../errors.ts';
import type { InferRequest, InferResult, LocalInference } from '../inference/types.ts';
import type { Logger } from '../logger.ts';
import type { TraceSpan } from '../trace.ts';
import type { QueryConstraints, RouteCandidate, Selection, Suspect } from '../routing/types.ts';
import { parseConstraints } from '../routing/constraints.ts';
import type { QueryDispatcher } from './dispatch.ts';
import type { ForwardRequest, ForwardResult } from './p2p/forward-frame.ts';
import type { RoutedDispatcherEvents } from './route-events.ts';
import { attemptAttributes, routeAttributes } from './tracing/attributes.ts';
import { traced } from './tracing/dispatch-spans.ts';
import { needsProof, suspectOf as suspectFor, type TryGuard } from './verify/guard.ts';
import { createVerifier, verifyRequested, witnessesIn, type Verifier, type VerifierInit } from './verify/verifier.ts';
import { sealRequested } from './verify/seal.ts';
import type { Reputation } from '../routing/reputation.ts';
import { PARAM } from '../wire/params.ts';
import { arrivalError, hedgePair, isRetryable, passedOn, relayCandidate, selectionError } from './routed/checks.ts';
import { runFailover } from './routed/failover.ts';
import { runHedged } from './routed/hedge.ts';
import { decorate } from './routed/decorate.ts';
import { selectOrWait, type ConvergingTable } from './routed/converge-wait.ts';

export { selectionError } from './routed/checks.ts';

export interface ForwardSender {
  send(peer: string, req: ForwardRequest, signal?: AbortSignal): Promise<ForwardResult>;
}

export interface RoutedDispatcherInit {
  /** `converging` (src/routing/table.ts) lets a query wait out a re-convergence instead of failing NOT_FOUND. */
  readonly table: ConvergingTable;
  readonly local: LocalInference;
  readonly forward: ForwardSender;
  readonly logger: Logger;
  /** Defaults to parseConstraints from src/routing/constraints.ts. */
  readonly parseConstraints?: (params: InferRequest['parameters'], deadline: number | undefined, now: number) => QueryConstraints;
  /** Providers tried per query at the entry node. */
  readonly maxAttempts?: number;
  /** How long a failing peer is excluded from selection. */
  readonly markDownMs?: number;
  /** Budget when the caller gave no deadline. */
  readonly defaultTimeoutMs?: number;
  readonly ttl?: number;
  /** Observer of the entry node's route tries (metrics). */
  readonly events?: RoutedDispatcherEvents;
  /** Longest a query waits for a lost route to come back (a newer seq after a failure). */
  readonly convergeWaitMs?: number;
  /** Answer proofs, measured times and overdue tries (src/node/verify/guard.ts). */
  readonly guard?: TryGuard;
  /** Re-execution of answers (src/node/verify/verifier.ts); needs `guard`'s reputation. */
  readonly verify?: { readonly reputation: Reputation } & Pick<VerifierInit, 'rate' | 'tolerances' | 'random' | 'onVerification'>;
}

export interface RoutedDispatcher extends QueryDispatcher {
  /** Handle a query that arrived over /plexus/forward from a neighbour. */
  handleForwarded(req: ForwardRequest, signal: AbortSignal): Promise<ForwardResult>;
}

export function createRoutedDispatcher(init: RoutedDispatcherInit): RoutedDispatcher {
  return new RoutedDispatcherCore(init);
}

/** The dispatcher's long-lived state (the table, the forward path, the verifier) and its steps. */
class RoutedDispatcherCore implements RoutedDispatcher {
  readonly #init: RoutedDispatcherInit;
  readonly #table: RoutedDispatcherInit['table'];
  readonly #local: LocalInference;
  readonly #forward: ForwardSender;
  readonly #log: Logger;
  readonly #self: string;
  readonly #maxAttempts: number;
  readonly #markDownMs: number;
  readonly #convergeWaitMs: number;
  readonly #defaultTimeoutMs: number;
  readonly #ttl: number;
  readonly #verifier: Verifier | undefined;

  constructor(init: RoutedDispatcherInit) {
    this.#init = init;
    this.#table = init.table;
    this.#local = init.local;
    this.#forward = init.forward;
    this.#log = init.logger;
    this.#self = init.table.self;
    this.#maxAttempts = init.maxAttempts ?? 3;
    this.#markDownMs = init.markDownMs ?? 2000;
    this.#convergeWaitMs = init.convergeWaitMs ?? 1000;
    this.#defaultTimeoutMs = init.defaultTimeoutMs ?? 30_000;
    this.#ttl = init.ttl ?? 16;
    this.#verifier = init.verify === undefined ? undefined : createVerifier({
      ...init.verify, self: this.#self, logger: this.#log, witnesses: witnessesIn(this.#table, this.#self),
      run: (req, cand, deadline) => this.#attempt(req, cand, deadline, req.signal),
    });
  }

  /** Run on this node; returns the result and the downstream hop timings (just us). */
  async #runLocal(req: ForwardRequest, deadline: number, signal: AbortSignal | undefined): Promise<ForwardResult> {
    const t0 = performance.now();
    const span = req.trace?.child('plexus.infer', { 'plexus.model': req.model });
    const res = await traced(span, () => this.#local.infer({
      model: req.model, ...(req.version === undefined ? {} : { version: req.version }), id: req.queryId,
      inputs: req.inputs, outputs: req.outputs, parameters: req.parameters, deadline, ...(signal === undefined ? {} : { signal }),
      ...(span === undefined ? {} : { trace: span }),
      ...(req.tenant === undefined ? {} : { tenant: req.tenant }),
    }));
    return { ...res, hops: [{ peer: this.#self, ms: performance.now() - t0 }] };
  }

  /**
   * Toward `req.origin`: run locally if we are it, else send to our best next hop; when that
   * link dies, once more over the next hop a fresh selection offers.
   */
  async #toward(req: ForwardRequest, deadline: number, signal: AbortSignal | undefined): Promise<ForwardResult> {
    const self = this.#self;
    if (req.origin === self) return this.#runLocal(req, deadline, signal);
    let last: unknown;
    const failed = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const s0 = performance.now();
      const sel = await this.#selectOrWait(req.model, { prefer: 'latency', peer: req.origin, deadlineMs: deadline - Date.now() }, deadline, signal);
      req.trace?.phase('plexus.route', s0, performance.now(), routeAttributes(sel));
      if (!sel.ok) {
        if (sel.failure.reason === 'deadline') throw selectionError(req.model, sel.failure);
        // The entry chose this provider; that this relay lost its route (the provider died,
        // or is marked down here) is a path failure the entry can route around: UNAVAILABLE.
        throw new PeerUnavailableError(`query ${req.queryId}: ${self} has no route to provider ${req.origin} any more: ${sel.failure.message}`);
      }
      const cand = relayCandidate(sel.candidates, req.origin, self, failed);
      if (cand === undefined) break;
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) throw new DeadlineExceededError(`query ${req.queryId}: deadline passed at ${self} before reaching ${req.origin}`);
      const span = req.trace?.child('plexus.forward', attemptAttributes(cand, i + 1, false), 'client');
      try {
        const next = passedOn(req, self, remainingMs);
        return await traced(span, () => this.#forward.send(cand.nextHop, span === undefined ? next : { ...next, traceparent: span.traceparent() }, signal));
      } catch (e) {
        last = e;
        if (!(e instanceof PeerUnavailableError)) throw e;
        failed.add(cand.nextHop);
        this.#table.markDown(cand.nextHop, Date.now() + this.#markDownMs);
      }
    }
    throw (last as Error | undefined) ?? new NoFeasibleRouteError(`no next hop from ${self} toward provider ${req.origin}`);
  }

  async handleForwarded(req: ForwardRequest, signal: AbortSignal): Promise<ForwardResult> {
    const self = this.#self;
    const log = this.#log;
    const t0 = performance.now();
    const refused = arrivalError(req, self);
    if (refused !== undefined) throw refused;
    // The entry node's query id travels in the frame, so every hop's log lines carry it.
    log.debug({ queryId: req.queryId, tenant: req.tenant, model: req.model, origin: req.origin, from: req.route[req.route.length - 1], ttl: req.ttl, remainingMs: req.remainingMs }, req.origin === self ? 'forwarded query: running here' : 'forwarded query: passing on');
    try {
      // The provider opens a sealed query (and seals its answer back); relays pass it as it is.
      const mine = req.origin === self ? this.#init.guard?.inbound(req) : undefined;
      const res = await this.#toward(mine?.req ?? req, Date.now() + req.remainingMs, signal);
      log.debug({ queryId: req.queryId, ms: performance.now() - t0 }, 'forwarded query answered');
      if (req.origin === self) return mine === undefined ? res : await mine.close(res);
      return { ...res, hops: [{ peer: self, ms: performance.now() - t0 }, ...res.hops] };
    } catch (e) {
      log.debug({ queryId: req.queryId, ms: performance.now() - t0, err: (e as Error).message }, 'forwarded query failed');
      throw e;
    }
  }

  /** The peer to blame for a failed try: our next hop when the link failed, else the provider. */
  readonly #suspectOf = (e: unknown, cand: RouteCandidate): Suspect => suspectFor(e, cand, this.#self);

  /** The frame for one try on `cand`, sealed when the guard seals (no frame is sent for a local try). */
  #frameFor(req: InferRequest, cand: RouteCandidate, deadline: number, span: TraceSpan | undefined): { fwd: ForwardRequest; open?: (r: ForwardResult) => ForwardResult } {
    const guard = this.#init.guard;
    const local = cand.origin === this.#self;
    const plain: ForwardRequest = {
      queryId: req.id, ttl: this.#ttl, remainingMs: deadline - Date.now(), route: [this.#self], origin: cand.origin, model: cand.model, version: cand.version,
      outputs: req.outputs, parameters: req.parameters, inputs: req.inputs, ...(req.tenant === undefined ? {} : { tenant: req.tenant }),
      ...(span === undefined ? (req.trace === undefined ? {} : { trace: req.trace }) : { traceparent: span.traceparent() }),
      ...(local || guard === undefined || !needsProof(cand) ? {} : { nonce: guard.nonce() }),
    };
    const sealing = local ? undefined : guard?.outbound(cand, plain);
    return sealing ?? { fwd: plain };
  }

  /** One try on one candidate: records the outcome in the table and marks a failing peer down. */
  async #attempt(req: InferRequest, cand: RouteCandidate, deadline: number, signal: AbortSignal | undefined, n = 1, hedge = false): Promise<InferResult> {
    const t0 = performance.now();
    const local = cand.origin === this.#self;
    const span = local ? undefined : req.trace?.child('plexus.forward', attemptAttributes(cand, n, hedge), 'client');
    const { fwd, open } = this.#frameFor(req, cand, deadline, span);
    this.#table.requestStarted(cand);
    this.#log.debug({ queryId: req.id, tenant: req.tenant, model: req.model, origin: cand.origin, nextHop: cand.nextHop, expectedMs: cand.expectedMs }, 'query routed');
    try {
      const res = local
        ? await this.#runLocal(fwd, deadline, signal)
        : (open ?? ((r: ForwardResult) => r))(await traced(span, () => this.#forward.send(cand.nextHop, fwd, signal)));
      const ms = performance.now() - t0;
      if (!local) await this.#init.guard?.answered(cand, fwd, res, ms);
      this.#table.recordOutcome(cand, { ok: true, latencyMs: ms }, Date.now());
      return decorate(res, cand, this.#self, ms);
    } catch (e) {
      this.#attemptFailed(req, cand, e, performance.now() - t0, signal);
      throw e;
    }
  }

  /** Books a failed try: in the table, against the peer to blame, and as overdue when it was. */
  #attemptFailed(req: InferRequest, cand: RouteCandidate, e: unknown, elapsed: number, signal: AbortSignal | undefined): void {
    const table = this.#table;
    const guard = this.#init.guard;
    // A try we cancelled (the caller left, or a hedge won) says nothing about the route,
    // unless the peer holding it was already past its expected time (a black hole).
    if (signal?.aborted === true) {
      if (guard?.unanswered(cand, cand.origin, elapsed) === true) {
        table.recordOutcome(cand, { ok: false, latencyMs: elapsed }, Date.now());
        this.#log.info({ queryId: req.id, peer: cand.origin, ms: Math.round(elapsed) }, 'provider held a query past its expected time: demoted');
      } else {
        table.requestEnded(cand);
      }
      return;
    }
    // Errors count in the metric, so a replica that fails fast never looks fast.
    table.recordOutcome(cand, { ok: false, latencyMs: elapsed }, Date.now());
    if (!isRetryable(e)) return;
    const suspect = this.#suspectOf(e, cand);
    if (suspect.peer !== this.#self) table.markDown(suspect.peer, Date.now() + this.#markDownMs, suspect.role);
    // Our own timer, or the peer's (plexus.deadline_ms travels with the query): a peer that
    // holds a query until the deadline and then says so is no better than a silent one.
    if (e instanceof DeadlineExceededError || (e instanceof RemoteError && e.kind === 'deadline_exceeded')) guard?.unanswered(cand, suspect.peer, elapsed);
    this.#log.debug({ queryId: req.id, origin: cand.origin, nextHop: cand.nextHop, err: (e as Error).message }, 'route failed');
  }

  #selectOrWait(model: string, constraints: QueryConstraints, deadline: number, signal: AbortSignal | undefined): Promise<Selection> {
    return selectOrWait(this.#table, this.#convergeWaitMs, model, constraints, deadline, signal);
  }

  /** Try candidates one after another while the deadline allows (failover order: src/node/routed/failover.ts). */
  #sequential(req: InferRequest, candidates: readonly RouteCandidate[], start: number, deadline: number, constraints: QueryConstraints): Promise<InferResult> {
    return runFailover(candidates, {
      queryId: req.id, start, deadline, maxAttempts: this.#maxAttempts, signal: req.signal,
      attempt: (cand, n, last) => {
        this.#init.events?.attempt?.({ model: req.model, attempt: n, local: cand.origin === this.#self });
        if (n > 1) req.trace?.event('plexus.failover', { 'plexus.attempt': n, 'plexus.origin': cand.origin, 'plexus.last_error': (last as Error | undefined)?.message ?? '' });
        return this.#attempt(req, cand, deadline, req.signal, n);
      },
      suspectOf: this.#suspectOf,
      reselect: async () => {
        const again = await this.#selectOrWait(req.model, constraints, deadline, req.signal).catch(() => undefined);
        return again?.ok === true ? again.candidates : undefined;
      },
    });
  }

  /** Hedged request (src/node/routed/hedge.ts): the second provider too when the first is slow or fails. */
  #hedged(req: InferRequest, first: RouteCandidate, second: RouteCandidate, hedgeMs: number, deadline: number): Promise<InferResult> {
    return runHedged({
      queryId: req.id, first, second, hedgeMs, deadline, signal: req.signal,
      attempt: (cand, k, signal) => {
        this.#init.events?.attempt?.({ model: req.model, attempt: k + 1, local: cand.origin === this.#self });
        if (k === 1) req.trace?.event('plexus.hedge', { 'plexus.origin': cand.origin, 'plexus.hedge_ms': hedgeMs });
        return this.#attempt(req, cand, deadline, signal, k + 1, k === 1);
      },
      mark: (res, hedgedToo) => (hedgedToo ? { ...res, parameters: { ...res.parameters, [PARAM.hedged]: true } } : res),
    });
  }

  async infer(req: InferRequest): Promise<InferResult> {
    const start = Date.now();
    const constraints = (this.#init.parseConstraints ?? parseConstraints)(req.parameters, req.deadline, start);
    if (this.#verifier !== undefined) verifyRequested(req.parameters); // a bad plexus.verify fails before any work
    if (this.#init.guard !== undefined) sealRequested(req.parameters); // likewise plexus.seal
    // deadlineMs is already the tighter of the transport deadline and plexus.deadline_ms.
    const deadline = start + (constraints.deadlineMs ?? this.#defaultTimeoutMs);
    const s0 = performance.now();
    const sel = await this.#selectOrWait(req.model, constraints, deadline, req.signal);
    req.trace?.phase('plexus.route', s0, performance.now(), routeAttributes(sel));
    if (!sel.ok) throw selectionError(req.model, sel.failure);
    const pair = hedgePair(sel.candidates, constraints.hedgeMs, deadline - start);
    const res = pair !== undefined
      ? await this.#hedged(req, pair.first, pair.second, pair.hedgeMs, deadline)
      : await this.#sequential(req, sel.candidates, start, deadline, constraints);
    return this.#verifier === undefined ? res : this.#verifier.check(req, res, deadline);
  }
}
