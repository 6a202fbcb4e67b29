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
import { reportedCost } from '../inference/pipeline/budget.ts';
import type { InferRequest, InferResult, LocalInference } from '../inference/types.ts';
import type { Logger } from '../logger.ts';
import type { QueryConstraints, RouteCandidate, RoutingTableApi, Selection } from '../routing/types.ts';
import { parseConstraints } from '../routing/constraints.ts';
import type { QueryDispatcher } from './dispatch.ts';
import type { ForwardRequest, ForwardResult, HopTiming } from './p2p/forward-codec.ts';
import type { RoutedDispatcherEvents } from './route-events.ts';
import { attemptAttributes, routeAttributes } from './tracing/attributes.ts';
import { traced } from './tracing/dispatch-spans.ts';
import { suspectOf as suspectFor, type TryGuard } from './verify/guard.ts';
import { createVerifier, verifyRequested, witnessesIn, type Verifier, type VerifierInit } from './verify/verifier.ts';
import { sealRequested } from './verify/seal.ts';
import type { Reputation } from '../routing/reputation.ts';
import { PARAM } from '../wire/params.ts';
import { arrivalError, hedgePair, isRetryable, passedOn, relayCandidate, selectionError } from './routed/checks.ts';
import { runFailover } from './routed/failover.ts';
import { runHedged } from './routed/hedge.ts';

export { selectionError } from './routed/checks.ts';

export interface ForwardSender {
  send(peer: string, req: ForwardRequest, signal?: AbortSignal): Promise<ForwardResult>;
}

export interface RoutedDispatcherInit {
  /** `converging` (src/routing/table.ts) lets a query wait out a re-convergence instead of failing NOT_FOUND. */
  readonly table: RoutingTableApi & { converging?(modelOrCapability: string): boolean };
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

const fmtMs = (ms: number): string => (Math.round(ms * 10) / 10).toString();

export function createRoutedDispatcher(init: RoutedDispatcherInit): RoutedDispatcher {
  const { table, local, forward, logger: log } = init;
  const self = table.self;
  const maxAttempts = init.maxAttempts ?? 3;
  const markDownMs = init.markDownMs ?? 2000;
  const convergeWaitMs = init.convergeWaitMs ?? 1000;
  const defaultTimeoutMs = init.defaultTimeoutMs ?? 30_000;
  const ttl = init.ttl ?? 16;

  /** Run on this node; returns the result and the downstream hop timings (just us). */
  async function runLocal(req: ForwardRequest, deadline: number, signal: AbortSignal | undefined): Promise<ForwardResult> {
    const t0 = performance.now();
    const span = req.trace?.child('plexus.infer', { 'plexus.model': req.model });
    const res = await traced(span, () => local.infer({
      model: req.model, ...(req.version === undefined ? {} : { version: req.version }), id: req.queryId,
      inputs: req.inputs, outputs: req.outputs, parameters: req.parameters, deadline, ...(signal === undefined ? {} : { signal }),
      ...(span === undefined ? {} : { trace: span }),
      ...(req.tenant === undefined ? {} : { tenant: req.tenant }),
    }));
    return { ...res, hops: [{ peer: self, ms: performance.now() - t0 }] };
  }

  /**
   * Toward `req.origin`: run locally if we are it, else send to our best next hop; when that
   * link dies, once more over the next hop a fresh selection offers.
   */
  async function toward(req: ForwardRequest, deadline: number, signal: AbortSignal | undefined): Promise<ForwardResult> {
    if (req.origin === self) return runLocal(req, deadline, signal);
    let last: unknown;
    const failed = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const s0 = performance.now();
      const sel = await selectOrWait(req.model, { prefer: 'latency', peer: req.origin, deadlineMs: deadline - Date.now() }, deadline, signal);
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
        return await traced(span, () => forward.send(cand.nextHop, span === undefined ? next : { ...next, traceparent: span.traceparent() }, signal));
      } catch (e) {
        last = e;
        if (!(e instanceof PeerUnavailableError)) throw e;
        failed.add(cand.nextHop);
        table.markDown(cand.nextHop, Date.now() + markDownMs);
      }
    }
    throw (last as Error | undefined) ?? new NoFeasibleRouteError(`no next hop from ${self} toward provider ${req.origin}`);
  }

  async function handleForwarded(req: ForwardRequest, signal: AbortSignal): Promise<ForwardResult> {
    const t0 = performance.now();
    const refused = arrivalError(req, self);
    if (refused !== undefined) throw refused;
    // The entry node's query id travels in the frame, so every hop's log lines carry it.
    log.debug({ queryId: req.queryId, tenant: req.tenant, model: req.model, origin: req.origin, from: req.route[req.route.length - 1], ttl: req.ttl, remainingMs: req.remainingMs }, req.origin === self ? 'forwarded query: running here' : 'forwarded query: passing on');
    try {
      // The provider opens a sealed query (and seals its answer back); relays pass it as it is.
      const mine = req.origin === self ? init.guard?.inbound(req) : undefined;
      const res = await toward(mine?.req ?? req, Date.now() + req.remainingMs, signal);
      log.debug({ queryId: req.queryId, ms: performance.now() - t0 }, 'forwarded query answered');
      if (req.origin === self) return mine === undefined ? res : await mine.close(res);
      return { ...res, hops: [{ peer: self, ms: performance.now() - t0 }, ...res.hops] };
    } catch (e) {
      log.debug({ queryId: req.queryId, ms: performance.now() - t0, err: (e as Error).message }, 'forwarded query failed');
      throw e;
    }
  }

  function decorate(res: ForwardResult, cand: RouteCandidate, entryMs: number): InferResult {
    const hops: HopTiming[] = cand.origin === self ? [...res.hops] : [{ peer: self, ms: entryMs }, ...res.hops];
    return {
      model: res.model, version: res.version, id: res.id, outputs: res.outputs,
      parameters: {
        ...res.parameters,
        [PARAM.servedBy]: hops[hops.length - 1]?.peer ?? self,
        [PARAM.route]: hops.map((h) => h.peer).join(','),
        // A pipeline's provider reports what its steps cost (src/inference/pipeline/); else 0.
        [PARAM.cost]: cand.price + reportedCost(res.parameters),
        [PARAM.hopMs]: hops.map((h) => fmtMs(h.ms)).join(','),
      },
    };
  }

  /** The peer to blame for a failed try: our next hop when the link failed, else the provider. */
  const suspectOf = (e: unknown, cand: RouteCandidate): string => suspectFor(e, cand, self);

  /** One try on one candidate: records the outcome in the table and marks a failing peer down. */
  async function attempt(req: InferRequest, cand: RouteCandidate, deadline: number, signal: AbortSignal | undefined, n = 1, hedge = false): Promise<InferResult> {
    const t0 = performance.now();
    const span = cand.origin === self ? undefined : req.trace?.child('plexus.forward', attemptAttributes(cand, n, hedge), 'client');
    const plain: ForwardRequest = {
      queryId: req.id, ttl, remainingMs: deadline - Date.now(), route: [self], origin: cand.origin, model: cand.model, version: cand.version,
      outputs: req.outputs, parameters: req.parameters, inputs: req.inputs, ...(req.tenant === undefined ? {} : { tenant: req.tenant }),
      ...(span === undefined ? (req.trace === undefined ? {} : { trace: req.trace }) : { traceparent: span.traceparent() }),
      ...(cand.origin === self || init.guard === undefined ? {} : { nonce: init.guard.nonce() }),
    };
    const sealing = cand.origin === self ? undefined : init.guard?.outbound(cand, plain);
    const fwd = sealing?.fwd ?? plain;
    table.requestStarted(cand);
    log.debug({ queryId: req.id, tenant: req.tenant, model: req.model, origin: cand.origin, nextHop: cand.nextHop, expectedMs: cand.expectedMs }, 'query routed');
    try {
      const res = cand.origin === self
        ? await runLocal(fwd, deadline, signal)
        : (sealing?.open ?? ((r: ForwardResult) => r))(await traced(span, () => forward.send(cand.nextHop, fwd, signal)));
      const ms = performance.now() - t0;
      if (cand.origin !== self) await init.guard?.answered(cand, fwd, res, ms);
      table.recordOutcome(cand, { ok: true, latencyMs: ms }, Date.now());
      return decorate(res, cand, ms);
    } catch (e) {
      const elapsed = performance.now() - t0;
      // A try we cancelled (the caller left, or a hedge won) says nothing about the route,
      // unless the peer holding it was already past its expected time (a black hole).
      if (signal?.aborted === true) {
        if (init.guard?.unanswered(cand, cand.origin, elapsed) === true) {
          table.recordOutcome(cand, { ok: false, latencyMs: elapsed }, Date.now());
          log.info({ queryId: req.id, peer: cand.origin, ms: Math.round(elapsed) }, 'provider held a query past its expected time: demoted');
        } else {
          table.requestEnded(cand);
        }
        throw e;
      }
      // Errors count in the metric, so a replica that fails fast never looks fast.
      table.recordOutcome(cand, { ok: false, latencyMs: elapsed }, Date.now());
      if (isRetryable(e)) {
        const suspect = suspectOf(e, cand);
        if (suspect !== self) table.markDown(suspect, Date.now() + markDownMs);
        // Our own timer, or the peer's (plexus.deadline_ms travels with the query): a peer that
        // holds a query until the deadline and then says so is no better than a silent one.
        if (e instanceof DeadlineExceededError || (e instanceof RemoteError && e.kind === 'deadline_exceeded')) init.guard?.unanswered(cand, suspect, elapsed);
        log.debug({ queryId: req.id, origin: cand.origin, nextHop: cand.nextHop, err: (e as Error).message }, 'route failed');
      }
      throw e;
    }
  }

  /**
   * Select; when the only providers of the name lost their routes and wait for a newer seq
   * (a next hop just died), poll until a route is back, for up to convergeWaitMs. Still
   * nothing: UNAVAILABLE (try again), not NOT_FOUND (it does exist).
   */
  async function selectOrWait(model: string, constraints: QueryConstraints, deadline: number, signal: AbortSignal | undefined): Promise<Selection> {
    const at = (now: number): QueryConstraints => (constraints.deadlineMs === undefined ? constraints : { ...constraints, deadlineMs: Math.max(0, deadline - now) });
    let now = Date.now();
    let sel = table.select(model, at(now), now);
    const until = Math.min(deadline, now + convergeWaitMs);
    const waiting = (s: Selection): boolean => !s.ok && s.failure.reason === 'unknown' && table.converging?.(model) === true;
    while (waiting(sel) && Date.now() < until && signal?.aborted !== true) {
      await new Promise((r) => setTimeout(r, 20));
      now = Date.now();
      sel = table.select(model, at(now), now);
    }
    if (waiting(sel)) throw new PeerUnavailableError(`no route to '${model}' right now: its providers' routes are re-converging after a failure; retry shortly`);
    return sel;
  }

  /** Try candidates one after another while the deadline allows (failover order: src/node/routed/failover.ts). */
  function sequential(req: InferRequest, candidates: readonly RouteCandidate[], start: number, deadline: number, constraints: QueryConstraints): Promise<InferResult> {
    return runFailover(candidates, {
      queryId: req.id, start, deadline, maxAttempts, signal: req.signal,
      attempt: (cand, n, last) => {
        init.events?.attempt?.({ model: req.model, attempt: n, local: cand.origin === self });
        if (n > 1) req.trace?.event('plexus.failover', { 'plexus.attempt': n, 'plexus.origin': cand.origin, 'plexus.last_error': (last as Error | undefined)?.message ?? '' });
        return attempt(req, cand, deadline, req.signal, n);
      },
      suspectOf,
      reselect: async () => {
        const again = await selectOrWait(req.model, constraints, deadline, req.signal).catch(() => undefined);
        return again?.ok === true ? again.candidates : undefined;
      },
    });
  }

  /** Hedged request (src/node/routed/hedge.ts): the second provider too when the first is slow or fails. */
  function hedged(req: InferRequest, first: RouteCandidate, second: RouteCandidate, hedgeMs: number, deadline: number): Promise<InferResult> {
    return runHedged({
      queryId: req.id, first, second, hedgeMs, deadline, signal: req.signal,
      attempt: (cand, k, signal) => {
        init.events?.attempt?.({ model: req.model, attempt: k + 1, local: cand.origin === self });
        if (k === 1) req.trace?.event('plexus.hedge', { 'plexus.origin': cand.origin, 'plexus.hedge_ms': hedgeMs });
        return attempt(req, cand, deadline, signal, k + 1, k === 1);
      },
      mark: (res, hedgedToo) => (hedgedToo ? { ...res, parameters: { ...res.parameters, [PARAM.hedged]: true } } : res),
    });
  }

  async function infer(req: InferRequest): Promise<InferResult> {
    const start = Date.now();
    const constraints = (init.parseConstraints ?? parseConstraints)(req.parameters, req.deadline, start);
    if (verifier !== undefined) verifyRequested(req.parameters); // a bad plexus.verify fails before any work
    if (init.guard !== undefined) sealRequested(req.parameters); // likewise plexus.seal
    // deadlineMs is already the tighter of the transport deadline and plexus.deadline_ms.
    const deadline = start + (constraints.deadlineMs ?? defaultTimeoutMs);
    const s0 = performance.now();
    const sel = await selectOrWait(req.model, constraints, deadline, req.signal);
    req.trace?.phase('plexus.route', s0, performance.now(), routeAttributes(sel));
    if (!sel.ok) throw selectionError(req.model, sel.failure);
    const pair = hedgePair(sel.candidates, constraints.hedgeMs, deadline - start);
    const res = pair !== undefined
      ? await hedged(req, pair.first, pair.second, pair.hedgeMs, deadline)
      : await sequential(req, sel.candidates, start, deadline, constraints);
    return verifier === undefined ? res : verifier.check(req, res, deadline);
  }

  const verifier: Verifier | undefined = init.verify === undefined ? undefined : createVerifier({
    ...init.verify, self, logger: log, witnesses: witnessesIn(table, self), run: (req, cand, deadline) => attempt(req, cand, deadline, req.signal),
  });

  return { infer, handleForwarded };
}
