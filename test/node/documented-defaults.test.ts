// The defaults README documents (its Configuration example and the Limits tables) are the ones
// the options compiler produces: parse the README and compare with compileNodeOptions({}).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { compileNodeOptions, type NodeOptions } from '../../src/node/options.ts';
import { DEFAULT_PEER_LIMITS } from '../../src/routing/peer-limits.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/node/p2p/conn-policy.ts';
import { DEFAULT_LIMITS } from '../../src/node/node-defaults.ts';

const README = readFileSync(path.join(import.meta.dirname, '../../README.md'), 'utf8');
const HOME = '/home/someone';
const compiled: NodeOptions = compileNodeOptions({}, { cwd: '/tmp', home: HOME });

/** The text under a heading, up to the next heading of any level. */
function section(heading: string): string {
  const lines = README.split('\n');
  const start = lines.findIndex((l) => l.replace(/^#+\s*/, '') === heading && l.startsWith('#'));
  if (start < 0) throw new Error(`README has no heading '${heading}'`);
  const end = lines.findIndex((l, i) => i > start && /^#{1,4} /.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

function yamlBlocks(text: string): unknown[] {
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m): unknown => parseYaml(m[1] ?? ''));
}

interface Row { readonly value: string; readonly keys: readonly string[] }

/** Rows of the markdown tables in a section whose header has a `default` column and a config key column. */
function tableRows(text: string): Row[] {
  const rows: Row[] = [];
  let cols: string[] | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) { cols = undefined; continue; }
    const cells = line.slice(1, -1).split('|').map((c) => c.trim());
    if (cols === undefined) { cols = cells; continue; }
    if (cells.every((c) => /^-+$/.test(c))) continue;
    const value = cells[cols.indexOf('default')] ?? '';
    const keyCell = cells[cols.findIndex((c) => c.startsWith('config key'))] ?? '';
    rows.push({ value, keys: configKeys(keyCell) });
  }
  return rows;
}

/** `node.p2p.limits.a`, `b` → both full keys (a bare name continues the previous prefix); flags dropped. */
function configKeys(cell: string): string[] {
  const keys: string[] = [];
  let prefix = '';
  for (const m of cell.matchAll(/`([^`]+)`/g)) {
    const k = m[1] ?? '';
    if (k.startsWith('-')) continue;
    if (k.includes('.')) {
      prefix = k.slice(0, k.lastIndexOf('.') + 1);
      keys.push(k);
    } else if (prefix !== '') {
      keys.push(prefix + k);
    }
  }
  return keys;
}

const UNITS: Readonly<Record<string, number>> = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, s: 1, min: 60, Hz: 1 };

/** The quantities in a default cell, each in the unit its key names (…Ms: ms, …S: s, else as written). */
function quantities(value: string, keys: readonly string[]): number[] {
  const out: number[] = [];
  for (const m of value.matchAll(/(\d[\d,]*(?:\.\d+)?)(?:\s*(KiB|MiB|GiB|min|Hz|s)(?![\w]))?/g)) {
    const n = Number((m[1] ?? '').replace(/,/g, ''));
    const unit = m[2];
    const key = keys[out.length] ?? '';
    const scale = unit === undefined ? 1 : UNITS[unit] ?? 1;
    const isTime = unit === 's' || unit === 'min';
    out.push(isTime && key.endsWith('Ms') ? n * scale * 1000 : n * scale);
  }
  return out;
}

/** A config key's compiled value; undefined for a key this test does not know. */
function compiledValue(key: string): unknown {
  const o = compiled;
  const within = (prefix: string, obj: object | undefined): unknown =>
    key.startsWith(prefix) && obj !== undefined ? (obj as Record<string, unknown>)[key.slice(prefix.length)] : undefined;
  const node: Record<string, unknown> = { maxMessageBytes: o.grpc.maxMessageBytes, maxStreamInFlight: o.grpc.maxStreamInFlight };
  return within('node.limits.', o.limits) ?? within('p2p.limits.', o.p2p?.limits) ?? within('p2p.connections.', o.p2p?.connections)
    ?? within('inference.audio.', o.inference?.audio) ?? (key.split('.').length === 2 ? within('node.', node) : undefined);
}

describe('documented defaults', () => {
  it('every limit in the Limits tables is the compiled default, and every compiled limit is documented', () => {
    const text = [section('Limits'), section('Input processing limits'), section('Peer limits')].join('\n');
    const seen = new Set<string>();
    for (const row of tableRows(text)) {
      const known = row.keys.filter((k) => compiledValue(k) !== undefined);
      if (known.length === 0) continue;
      expect(known, `row '${row.value}'`).toEqual(row.keys);
      const values = quantities(row.value, row.keys);
      expect(values.length, `row '${row.value}' for ${row.keys.join(', ')}`).toBeGreaterThanOrEqual(row.keys.length);
      row.keys.forEach((k, i) => {
        expect(values[i], k).toBe(compiledValue(k));
        seen.add(k);
      });
    }
    const expected = [
      ...Object.keys(DEFAULT_LIMITS).map((k) => `node.limits.${k}`),
      ...Object.keys(DEFAULT_PEER_LIMITS).map((k) => `p2p.limits.${k}`),
      ...Object.keys(DEFAULT_CONNECTION_LIMITS).map((k) => `p2p.connections.${k}`),
      'inference.audio.maxDurationS', 'inference.audio.maxSampleRate', 'inference.audio.maxChannels',
      'node.maxMessageBytes', 'node.maxStreamInFlight',
    ];
    expect([...seen].sort()).toEqual(expected.sort());
  });

  it("the Configuration example's defaults are the compiled ones", () => {
    const [example] = yamlBlocks(section('Configuration')) as [{ node: Record<string, unknown>; inference: unknown; models: Record<string, unknown>[] }];
    const node = example.node;
    const p2p = node.p2p as Record<string, unknown>;
    const routing = node.routing as Record<string, unknown>;
    const verify = node.verify as Record<string, unknown>;
    expect(node.grpc).toBe(`${compiled.grpc.address.host}:${compiled.grpc.address.port}`);
    expect(path.join(HOME, String(node.dataDir).replace(/^~\//, ''))).toBe(compiled.dataDir);
    expect(node.logLevel).toBe(compiled.logLevel);
    expect(node.maxMessageBytes).toBe(compiled.grpc.maxMessageBytes);
    expect(node.maxStreamInFlight).toBe(compiled.grpc.maxStreamInFlight);
    expect(node.shutdownGraceMs).toBe(compiled.shutdownGraceMs);
    expect(p2p.listen).toEqual(compiled.p2p?.listen);
    expect(p2p.bootstrap).toEqual(compiled.p2p?.bootstrap);
    expect(p2p.static).toBe(compiled.p2p?.static);
    expect(p2p.noModels).toBe(compiled.p2p?.noModels);
    expect(p2p.allow).toEqual(compiled.p2p?.members?.allow);
    expect(p2p.deny).toEqual(compiled.p2p?.members?.deny);
    expect(p2p.open).toBe(compiled.p2p?.members?.open);
    expect(routing.policy).toBe(compiled.p2p?.routing.policy);
    expect(routing.refreshMs).toBe(compiled.p2p?.routing.refreshMs);
    expect(verify.rate).toBe(compiled.p2p?.verify?.rate);
    expect(verify.tolerances).toEqual(compiled.p2p?.verify?.tolerances);
    expect(example.inference).toEqual(compiled.inference);
    // The embedded default models: what the example shows of them.
    expect(example.models.map((m) => m.name)).toEqual(compiled.models.map((m) => m.name));
    for (const [i, m] of example.models.entries()) {
      const c = compiled.models[i] as unknown as Record<string, unknown>;
      for (const k of ['version', 'capabilities', 'price', 'provider', 'session', 'maxConcurrent', 'maxQueue', 'batching'] as const) {
        if (k in m) expect(m[k], `models[${i}].${k}`).toEqual(c[k]);
      }
      const fault = m.fault as Record<string, unknown> | undefined;
      if (fault !== undefined) expect(fault).toEqual(c.fault);
      const adapter = m.adapter as Record<string, unknown> | undefined;
      if (adapter !== undefined) expect(adapter).toEqual(c.adapter);
    }
  });

  it("the Jobs section's config example is the compiled node.jobs", () => {
    const blocks = yamlBlocks(section('The API and its limits')) as { node?: { jobs?: Record<string, number | boolean> } }[];
    const jobs = blocks.find((b) => b.node?.jobs !== undefined)?.node?.jobs;
    expect(jobs).toBeDefined();
    expect({
      enabled: jobs?.enabled, retentionMs: Number(jobs?.retentionS) * 1000, maxStoreBytes: jobs?.maxStoreBytes,
      maxItemsPerJob: jobs?.maxItemsPerJob, defaultDeadlineMs: Number(jobs?.defaultDeadlineS) * 1000,
    }).toEqual(compiled.jobs);
  });
});
