// What the routed dispatcher tells an observer (metrics) about the routes it tries. Kept apart
// from dispatch-routed.ts so observers depend on this contract only.
export interface RouteAttempt {
  /** The model or capability the caller asked for. */
  readonly model: string;
  /** 1 for the first route chosen; 2, 3... for failovers (or the hedged twin) on further routes. */
  readonly attempt: number;
  /** The provider is this node (no forwarding). */
  readonly local: boolean;
}

/** A cross-check of an answer by re-execution (src/node/verify/verifier.ts). */
export interface VerificationOutcome {
  /** The model or capability the caller asked for. */
  readonly model: string;
  /** agreed, wrong (a provider was caught and quarantined), unresolved (no verdict). */
  readonly outcome: 'agreed' | 'wrong' | 'unresolved';
  readonly peer?: string;
}

export interface RoutedDispatcherEvents {
  /** Called as each try on a route starts at the entry node; must not throw. */
  attempt?(event: RouteAttempt): void;
  /** Called when a cross-check of an answer ends; must not throw. */
  verification?(event: VerificationOutcome): void;
}
