// prom-client's Counter, Gauge, Histogram and Registry, required file by file. Its index also
// loads what a node never uses: the default process metrics (with @opentelemetry/api and
// perf_hooks), Summary (tdigest), the Pushgateway (http, https, zlib) and the cluster aggregator
// (node:cluster). That costs ~14 MB resident in a bare Node 22 process; these four files ~0.5 MB.
// The classes are the index's own (the same CommonJS modules), so a Registry made from
// 'prom-client' elsewhere (tests) is the same class.
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const load = createRequire(import.meta.url);

export const Counter = load('prom-client/lib/counter') as typeof Prom.Counter;
export const Gauge = load('prom-client/lib/gauge') as typeof Prom.Gauge;
export const Histogram = load('prom-client/lib/histogram') as typeof Prom.Histogram;
export const Registry = load('prom-client/lib/registry') as typeof Prom.Registry;
export type Counter<T extends string = string> = Prom.Counter<T>;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export type Histogram<T extends string = string> = Prom.Histogram<T>;
export type Registry = Prom.Registry;
