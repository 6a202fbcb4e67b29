// Per-model cumulative statistics in the shape of Triton's ModelStatistics, fed at the very
// points (and with the very durations) the Prometheus instruments in metrics.ts observe:
// requests at the entry node (success/fail, by the model that served or would have served
// them), runs on this node (queue wait, ORT compute), and the engine's timing of each request it
// answered here (input preparation, output building, an adapter's execution). Pure bookkeeping: no clock of its own
// beyond `now`, no transport.

/** Count and cumulative nanoseconds of one kind of measurement. */
export interface DurationStat {
  readonly count: number;
  readonly ns: number;
}

export interface ModelStatsSnapshot {
  readonly name: string;
  /** The version last seen for this model ('' when only runs were seen: the caller fills it). */
  readonly version: string;
  /** Epoch ms of the last request answered for it or run of it here; 0 before any. */
  readonly lastInference: number;
  /** Requests answered successfully (a request counts once, whatever its batch dimension). */
  readonly inferenceCount: number;
  /** Executions of this model on this node: ORT runs (a batch counts once), an adapter's requests. */
  readonly executionCount: number;
  readonly success: DurationStat;
  readonly fail: DurationStat;
  /** Waits for a run slot on this node (a batch waits once). */
  readonly queue: DurationStat;
  /** ORT session runs on this node; for an adapter, its executions of requests. */
  readonly computeInfer: DurationStat;
  /** Requests answered here: preparing their inputs (validation, decoding, stacking into a batch). */
  readonly computeInput: DurationStat;
  /** Requests answered here: turning the model's outputs into the answer. */
  readonly computeOutput: DurationStat;
}

export interface ModelStatsRecorder {
  /** A request finished at this entry node: `ok` or failed, after `ms`, for model@version. */
  request(model: string, version: string, ok: boolean, ms: number, now?: number): void;
  /** A run of `model` waited `ms` for a slot. */
  queueWait(model: string, ms: number): void;
  /** One ORT run of `model` took `ms`. */
  compute(model: string, ms: number, now?: number): void;
  /** A request run on `model` here spent `inputMs` preparing inputs and `outputMs` building its answer. */
  phases(model: string, inputMs: number, outputMs: number): void;
  /** Every model with anything recorded, in first-seen order. */
  snapshot(): ModelStatsSnapshot[];
}

interface Mutable {
  count: number;
  ns: number;
}

interface Entry {
  version: string;
  lastInference: number;
  success: Mutable;
  fail: Mutable;
  queue: Mutable;
  computeInfer: Mutable;
  computeInput: Mutable;
  computeOutput: Mutable;
}

const zero = (): Mutable => ({ count: 0, ns: 0 });
const add = (d: Mutable, ms: number): void => {
  d.count++;
  d.ns += Math.max(0, Math.round(ms * 1e6));
};

/** Bound on distinct model names kept (remote ones come and go); the oldest are dropped past it. */
export const MAX_MODEL_STATS = 1024;

export function createModelStatsRecorder(): ModelStatsRecorder {
  const entries = new Map<string, Entry>();
  const entry = (model: string): Entry => {
    let e = entries.get(model);
    if (e === undefined) {
      if (entries.size >= MAX_MODEL_STATS) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      e = { version: '', lastInference: 0, success: zero(), fail: zero(), queue: zero(), computeInfer: zero(), computeInput: zero(), computeOutput: zero() };
      entries.set(model, e);
    }
    return e;
  };
  return {
    request(model, version, ok, ms, now = Date.now()) {
      const e = entry(model);
      e.version = version;
      add(ok ? e.success : e.fail, ms);
      e.lastInference = Math.max(e.lastInference, now);
    },
    queueWait(model, ms) {
      add(entry(model).queue, ms);
    },
    compute(model, ms, now = Date.now()) {
      const e = entry(model);
      add(e.computeInfer, ms);
      e.lastInference = Math.max(e.lastInference, now);
    },
    phases(model, inputMs, outputMs) {
      const e = entry(model);
      add(e.computeInput, inputMs);
      add(e.computeOutput, outputMs);
    },
    snapshot() {
      return [...entries].map(([name, e]) => ({
        name, version: e.version, lastInference: e.lastInference,
        inferenceCount: e.success.count, executionCount: e.computeInfer.count,
        success: { ...e.success }, fail: { ...e.fail }, queue: { ...e.queue }, computeInfer: { ...e.computeInfer },
        computeInput: { ...e.computeInput }, computeOutput: { ...e.computeOutput },
      }));
    },
  };
}
