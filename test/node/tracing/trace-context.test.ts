// The pure parts of tracing: W3C traceparent parsing (invalid values are ignored, per the
// spec), the OTLP URL rule, the option's validation, the forward frame's `tp` field and the
// route span's attributes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { compileNodeOptions } from '../../../src/node/options.ts';
import { decodeFrame, encodeRequest, type ForwardRequest } from '../../../src/node/p2p/forward-codec.ts';
import { routeAttributes } from '../../../src/node/tracing/attributes.ts';
import { tracesUrlOf } from '../../../src/node/tracing/node-tracing.ts';
import { hrTimeOf } from '../../../src/node/tracing/otel-span.ts';
import { firstHeaderValue, formatTraceparent, parseTraceparent } from '../../../src/node/tracing/traceparent.ts';
import type { RouteCandidate } from '../../../src/routing/types.ts';

const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SID = '00f067aa0ba902b7';

describe('traceparent', () => {
  it('parses version 00 and formats it back', () => {
    const p = parseTraceparent(`00-${TID}-${SID}-01`);
    expect(p).toEqual({ traceId: TID, spanId: SID, flags: 1 });
    expect(formatTraceparent(p ?? { traceId: '', spanId: '', flags: 0 })).toBe(`00-${TID}-${SID}-01`);
    expect(parseTraceparent(`00-${TID}-${SID}-00`)?.flags).toBe(0);
  });

  it('accepts a later version with extra fields, reading the first four', () => {
    expect(parseTraceparent(`cc-${TID}-${SID}-01-what-the-future-holds`)).toEqual({ traceId: TID, spanId: SID, flags: 1 });
  });

  it.each([
    ['missing', undefined],
    ['not a string', 42],
    ['empty', ''],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SID}-01`],
    ['all-zero parent id', `00-${TID}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TID}-${SID}-01`],
    ['version 00 with extra fields', `00-${TID}-${SID}-01-extra`],
    ['uppercase hex', `00-${TID.toUpperCase()}-${SID}-01`],
    ['short trace id', `00-${TID.slice(1)}-${SID}-01`],
    ['non-hex flags', `00-${TID}-${SID}-0x`],
    ['huge', `00-${TID}-${SID}-01-${'x'.repeat(1000)}`],
  ])('ignores an invalid value (%s)', (_why, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('takes the first value of a header or metadata entry, string or bytes', () => {
    expect(firstHeaderValue(['a', 'b'])).toBe('a');
    expect(firstHeaderValue(Buffer.from('x'))).toBe('x');
    expect(firstHeaderValue([])).toBeUndefined();
    expect(firstHeaderValue(undefined)).toBeUndefined();
  });
});

describe('OTLP endpoint', () => {
  it('appends /v1/traces to a base URL and keeps a full traces URL', () => {
    expect(tracesUrlOf('http://127.0.0.1:4318')).toBe('http://127.0.0.1:4318/v1/traces');
    expect(tracesUrlOf('https://otel.example/base/')).toBe('https://otel.example/base/v1/traces');
    expect(tracesUrlOf('http://c:4318/v1/traces')).toBe('http://c:4318/v1/traces');
  });

  it('is off by default, set by --otlp-endpoint or node.tracing.otlpEndpoint, and refused when not http(s)', () => {
    const env = { cwd: process.cwd(), home: '/tmp' };
    expect(compileNodeOptions({}, env).tracing).toBeUndefined();
    expect(compileNodeOptions({ otlpEndpoint: 'http://127.0.0.1:4318' }, env).tracing).toEqual({ otlpEndpoint: 'http://127.0.0.1:4318' });
    expect(() => compileNodeOptions({ otlpEndpoint: 'ftp://x' }, env)).toThrow(ConfigError);
    expect(() => compileNodeOptions({ otlpEndpoint: 'not a url' }, env)).toThrow(/--otlp-endpoint: expected an http/);
  });

  it('reads node.tracing.otlpEndpoint from the config file, names it when bad, and the flag wins', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'plexus-tracing-'));
    try {
      const file = path.join(dir, 'plexus.yaml');
      const env = { cwd: dir, home: dir };
      writeFileSync(file, 'node:\n  tracing:\n    otlpEndpoint: http://collector:4318\n');
      expect(compileNodeOptions({ config: file }, env).tracing).toEqual({ otlpEndpoint: 'http://collector:4318' });
      expect(compileNodeOptions({ config: file, otlpEndpoint: 'https://other/v1/traces' }, env).tracing).toEqual({ otlpEndpoint: 'https://other/v1/traces' });
      writeFileSync(file, 'node:\n  tracing:\n    otlpEndpoint: udp://collector\n');
      expect(() => compileNodeOptions({ config: file }, env)).toThrow(/node\.tracing\.otlpEndpoint: expected an http/);
      writeFileSync(file, 'node:\n  tracing:\n    endpoint: http://x\n');
      expect(() => compileNodeOptions({ config: file }, env)).toThrow(/node\.tracing: unknown field "endpoint"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('forward frames', () => {
  const req: ForwardRequest = {
    queryId: 'q', ttl: 3, remainingMs: 100, route: ['a'], origin: 'c', model: 'm', outputs: [], parameters: {}, inputs: [],
  };
  const roundTrip = (r: ForwardRequest): ForwardRequest => {
    const f = decodeFrame(Buffer.concat(encodeRequest(1, r)));
    if (f.type !== 1) throw new Error('not a request');
    return f.body;
  };

  it('carry the traceparent (header tp) when there is one, and nothing when not', () => {
    expect(roundTrip({ ...req, traceparent: `00-${TID}-${SID}-01` }).traceparent).toBe(`00-${TID}-${SID}-01`);
    expect('traceparent' in roundTrip(req)).toBe(false);
  });

  it('never encode the local span handle', () => {
    const header = Buffer.concat(encodeRequest(1, req)).subarray(9).toString('utf8');
    expect(header).not.toContain('trace"');
  });
});

describe('span attributes and times', () => {
  const cand = (origin: string, expectedMs: number): RouteCandidate => ({
    origin, model: 'm', version: '1', nextHop: 'n', hops: 2, pathLatencyMs: 1, computeMs: 1, queueWaitMs: 0, price: 0, provider: 'cpu', expectedMs,
  });

  it('a route span names the chosen route and lists every candidate\'s expected ms', () => {
    const a = routeAttributes({ ok: true, candidates: [cand('p1', 3.14159), cand('p2', 9)] });
    expect(a).toMatchObject({
      'plexus.route.chosen': 'p1 m@1 via n', 'plexus.route.chosen_expected_ms': 3.1, 'plexus.route.candidate_count': 2,
      'plexus.route.candidates': ['p1 m@1 via n', 'p2 m@1 via n'], 'plexus.route.candidates_expected_ms': [3.1, 9],
    });
    expect(routeAttributes({ ok: false, failure: { reason: 'unknown', message: 'x' } })).toEqual({ 'plexus.route.failure': 'unknown', 'plexus.route.candidate_count': 0 });
  });

  it('turns performance.now() ms into epoch [s, ns] without losing sub-ms steps', () => {
    const [s, ns] = hrTimeOf(0);
    expect(Math.abs(s * 1000 + ns / 1e6 - performance.timeOrigin)).toBeLessThan(0.001);
    const [s2, ns2] = hrTimeOf(1234.5678);
    expect((s2 - s) * 1e9 + (ns2 - ns)).toBe(1_234_567_800);
    expect(ns2).toBeGreaterThanOrEqual(0);
    expect(ns2).toBeLessThan(1e9);
  });
});
