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

export interface RoutedDispatcherEvents {
  /** Called as each try on a route starts at the entry node; must not throw. */
  attempt?(event: RouteAttempt): void;
}
