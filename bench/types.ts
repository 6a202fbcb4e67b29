// Shapes shared by the runner, the scenarios and the report writers.

export type ScenarioStatus = 'ok' | 'skipped' | 'error';

/** One line of a scenario's table: a label plus named numeric (or text) columns. */
export interface ResultRow {
  readonly label: string;
  readonly values: Readonly<Record<string, number | string | null>>;
}

export interface ScenarioResult {
  readonly name: string;
  readonly title: string;
  readonly status: ScenarioStatus;
  /** Why it was skipped or failed. */
  readonly reason?: string;
  readonly durationMs: number;
  /** Column order for the table; each row's values use these keys. */
  readonly columns: readonly string[];
  readonly rows: readonly ResultRow[];
  /** Named scalars other scenarios and the target checks read (e.g. `grpcRttP50Ms`). */
  readonly metrics: Readonly<Record<string, number | null>>;
  readonly notes: readonly string[];
}

export interface TargetCheck {
  readonly id: string;
  readonly description: string;
  /** Human-readable measured value vs threshold. */
  readonly detail: string;
  /** null: could not be evaluated (a scenario was skipped or not selected). */
  readonly pass: boolean | null;
}

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  readonly onnxruntime: string;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly quick: boolean;
  readonly only: readonly string[] | null;
  readonly machine: MachineInfo;
  readonly model: string;
  readonly scenarios: readonly ScenarioResult[];
  readonly targets: readonly TargetCheck[];
}

export interface ScenarioContext {
  readonly quick: boolean;
  /** Progress line to stderr. */
  log(message: string): void;
  /** Results of scenarios that ran earlier in this run (for side-by-side ratios). */
  readonly earlier: ReadonlyMap<string, ScenarioResult>;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** Runs only when named in --only (long runs such as the soak), never in the default run. */
  readonly optIn?: boolean;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

/** Thrown by a scenario when a piece it needs is not there yet: reported as skipped. */
export class ScenarioSkipped extends Error {
  override readonly name = 'ScenarioSkipped';
}
