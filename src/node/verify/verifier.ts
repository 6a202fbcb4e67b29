// Answers checked by re-execution (issue 9): the entry node re-runs a sample of the answers it
// gets from other providers (node.verify.rate; every one with plexus.verify=true) on a second,
// independent provider of the same model and version, this node first when it hosts it, and
// compares the outputs. When the two disagree, this node's own run decides, else a third
// provider: the one that disagrees with two others is quarantined (its routes ignored for a
// doubling period). A plexus.verify=true caller gets an answer two providers agree on, or an
// error (never a wrong answer); a sampled check runs after the caller has its answer.
import { InvalidInputError, VerificationFailedError } from '../../errors.ts';
import type { InferRequest, InferResult } from '../../inference/types.ts';
import type { Logger } from '../../logger.ts';
import type { Reputation } from '../../routing/reputation.ts';
import type { VerificationOutcome } from '../route-events.ts';
import type { RouteCandidate, RoutingTableApi } from '../../routing/types.ts';
import { compareOutputs, toleranceFor } from './compare.ts';
import { PARAM } from '../../wire/params.ts';

export const VERIFY_PARAM = PARAM.verify;
/** Fraction of remote answers re-run elsewhere unprompted (node.verify.rate's default). */
export const DEFAULT_VERIFY_RATE = 0.02;
export const VERIFIED_BY_PARAM = PARAM.verifiedBy;

export type VerificationEvent = VerificationOutcome;

export interface VerifierInit {
  readonly self: string;
  /** Fraction of remote answers checked without being asked (node.verify.rate). */
  readonly rate: number;
  readonly reputation: Reputation;
  readonly logger: Logger;
  /** Float tolerance overrides by model or capability name. */
  readonly tolerances?: Readonly<Record<string, number>>;
  readonly random?: () => number;
  /** Other providers of `model` (concrete name) and `version` than `exclude`, best first; this node first when it hosts it. */
  witnesses(model: string, version: string, exclude: ReadonlySet<string>, deadline: number): RouteCandidate[];
  /** Run the query on one provider (a route try of the dispatcher). */
  run(req: InferRequest, cand: RouteCandidate, deadline: number): Promise<InferResult>;
  onVerification?(e: VerificationEvent): void;
}

export interface Verifier {
  /** Check `res` (served by another provider) as the caller and the sample rate ask; returns the answer to give. */
  check(req: InferRequest, res: InferResult, deadline: number): Promise<InferResult>;
}

/** The caller asked for a cross-check: plexus.verify=true (bool, string or 1). InvalidInputError for any other value. */
export function verifyRequested(params: InferRequest['parameters']): boolean {
  const v = params[VERIFY_PARAM];
  if (v === undefined || v === false || v === 'false' || v === 0) return false;
  if (v === true || v === 'true' || v === 1) return true;
  throw new InvalidInputError(`parameter ${VERIFY_PARAM} must be true or false, got ${JSON.stringify(v).slice(0, 64)}`);
}

/** Witnesses from a routing table: other providers of exactly this model and version, `self` first when it hosts it. */
export function witnessesIn(table: Pick<RoutingTableApi, 'select'>, self: string): VerifierInit['witnesses'] {
  return (model, version, exclude, deadline) => {
    const now = Date.now();
    const sel = table.select(model, { prefer: 'latency', deadlineMs: Math.max(0, deadline - now) }, now);
    if (!sel.ok) return [];
    const same = sel.candidates.filter((c) => c.model === model && c.version === version && !exclude.has(c.origin));
    return [...same.filter((c) => c.origin === self), ...same.filter((c) => c.origin !== self)];
  };
}

interface Opinion { readonly origin: string; readonly res: InferResult }

export function createVerifier(init: VerifierInit): Verifier {
  return new VerifierCore(init);
}

const stamp = (res: InferResult, by: string): InferResult => ({ ...res, parameters: { ...res.parameters, [VERIFIED_BY_PARAM]: by } });

class VerifierCore implements Verifier {
  readonly #init: VerifierInit;
  readonly #log: Logger;
  readonly #random: () => number;
  readonly #tolerances: Readonly<Record<string, number>>;

  constructor(init: VerifierInit) {
    this.#init = init;
    this.#log = init.logger;
    this.#random = init.random ?? Math.random;
    this.#tolerances = init.tolerances ?? {};
  }

  #agree(req: InferRequest, a: InferResult, b: InferResult): boolean {
    const c = compareOutputs(a.outputs, b.outputs, toleranceFor(this.#tolerances, a.model, req.model));
    if (!c.same) this.#log.debug({ queryId: req.id, model: a.model, why: c.why }, 'answers differ');
    return c.same;
  }

  #quarantine(req: InferRequest, wrong: Opinion, against: readonly Opinion[]): void {
    const until = this.#init.reputation.quarantine(wrong.origin, Date.now());
    this.#log.warn({ queryId: req.id, model: wrong.res.model, peer: wrong.origin, against: against.map((o) => o.origin), until: new Date(until).toISOString() },
      `provider ${wrong.origin} quarantined: its answer disagreed with ${against.length === 1 ? "this node's own run" : `${against.length} other providers`}`);
    this.#init.onVerification?.({ model: req.model, outcome: 'wrong', peer: wrong.origin });
  }

  /** One more opinion from a provider not yet asked; undefined when none could answer. */
  async #opinion(req: InferRequest, model: string, version: string, asked: Set<string>, deadline: number): Promise<Opinion | undefined> {
    for (;;) {
      const cand = this.#init.witnesses(model, version, asked, deadline)[0];
      if (cand === undefined || Date.now() >= deadline) return undefined;
      asked.add(cand.origin);
      try {
        return { origin: cand.origin, res: await this.#init.run(req, cand, deadline) };
      } catch (e) {
        this.#log.debug({ queryId: req.id, witness: cand.origin, err: (e as Error).message }, 'verification run failed');
      }
    }
  }

  async #crossCheck(req: InferRequest, first: Opinion, deadline: number): Promise<InferResult> {
    const { model, version } = first.res;
    const asked = new Set([first.origin]);
    const unresolved = (why: string): never => {
      this.#init.onVerification?.({ model: req.model, outcome: 'unresolved' });
      throw new VerificationFailedError(`query ${req.id}: plexus.verify could not confirm the answer of ${first.origin} for '${model}': ${why}`);
    };
    const second = await this.#opinion(req, model, version, asked, deadline);
    if (second === undefined) return unresolved('no second provider of this model and version could answer');
    if (this.#agree(req, first.res, second.res)) {
      this.#init.onVerification?.({ model: req.model, outcome: 'agreed' });
      return stamp(first.res, second.origin);
    }
    if (second.origin === this.#init.self) {
      this.#quarantine(req, first, [second]);
      return stamp(second.res, this.#init.self);
    }
    const third = await this.#opinion(req, model, version, asked, deadline);
    if (third === undefined) return unresolved(`its answer and ${second.origin}'s disagree and no third provider could answer`);
    if (this.#agree(req, third.res, second.res)) {
      this.#quarantine(req, first, [second, third]);
      return stamp(second.res, third.origin);
    }
    if (this.#agree(req, third.res, first.res)) {
      this.#quarantine(req, second, [first, third]);
      return stamp(first.res, third.origin);
    }
    return unresolved(`the answers of ${first.origin}, ${second.origin} and ${third.origin} all disagree`);
  }

  check(req: InferRequest, res: InferResult, deadline: number): Promise<InferResult> {
    const self = this.#init.self;
    const servedBy = res.parameters[PARAM.servedBy];
    const origin = typeof servedBy === 'string' ? servedBy : self;
    const forced = verifyRequested(req.parameters);
    if (origin === self) return Promise.resolve(forced ? stamp(res, self) : res);
    if (forced) return this.#crossCheck(req, { origin, res }, deadline);
    if (this.#init.rate > 0 && this.#random() < this.#init.rate) {
      // A sampled check does not hold the caller's answer back; it has its own time budget.
      const deadline = Date.now() + 10_000;
      const background: InferRequest = {
        model: req.model, ...(req.version === undefined ? {} : { version: req.version }), id: req.id,
        inputs: req.inputs, outputs: req.outputs, parameters: req.parameters, deadline,
      };
      this.#crossCheck(background, { origin, res }, deadline).catch((e: unknown) => {
        this.#log.debug({ queryId: req.id, err: (e as Error).message }, 'sampled verification gave no verdict');
      });
    }
    return Promise.resolve(res);
  }
}
