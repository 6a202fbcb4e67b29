// Reads the deploy/ files the way their runtimes would and pulls out every `plexus` command
// line, so the tests can put each one through the real CLI parser and config compiler.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const DEPLOY = path.join(REPO, 'deploy');

/** Every document of a YAML file; throws on any parse error or warning. */
export function readYamlDocs(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { prettyErrors: true });
  if (!Array.isArray(docs)) return [];
  return docs.map((d) => {
    const problems = [...d.errors, ...d.warnings];
    if (problems.length > 0) throw new Error(`${file}: ${problems.map((p) => p.message).join('; ')}`);
    return d.toJS() as unknown;
  });
}

export function readYaml(file: string): unknown {
  const [doc] = readYamlDocs(file);
  return doc;
}

export interface DockerInstruction { readonly keyword: string; readonly rest: string }

/** Dockerfile instructions with line continuations joined and comments dropped. */
export function dockerInstructions(file: string): DockerInstruction[] {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  return joined.split('\n').map((l) => l.trim()).filter((l) => l.length > 0).map((l) => {
    const m = /^(\S+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`${file}: cannot read '${l}'`);
    return { keyword: (m[1] ?? '').toUpperCase(), rest: m[2] ?? '' };
  });
}

/** The exec-form (JSON array) argument of CMD/ENTRYPOINT/HEALTHCHECK CMD. */
export function execForm(rest: string): string[] {
  const json = rest.slice(rest.indexOf('['));
  const parsed = JSON.parse(json) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec-form array: ${rest}`);
  return parsed;
}

/**
 * Runs a shell script (a container's `sh -c` command) with a stand-in `plexus` on PATH that
 * prints its arguments, and returns them: the real shell decides what the pod would run.
 */
export function plexusArgsFromShell(script: string, env: Record<string, string>): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'plexus-fake-'));
  try {
    const fake = path.join(dir, 'plexus');
    writeFileSync(fake, '#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done\n');
    chmodSync(fake, 0o755);
    const out = execFileSync('/bin/sh', ['-c', script], {
      env: { PATH: `${dir}:/usr/bin:/bin`, ...env },
      encoding: 'utf8',
    });
    return out.split('\0').slice(0, -1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A systemd ExecStart line expanded as systemd does for simple cases: `${VAR}` is one word,
 * `$VAR` splits on whitespace (and vanishes when empty). Quotes are not used by our unit.
 */
export function expandExecStart(line: string, env: Record<string, string>): string[] {
  if (/["'\\]/.test(line)) throw new Error(`ExecStart with quotes or escapes is not handled here: ${line}`);
  const words: string[] = [];
  for (const word of line.trim().split(/\s+/)) {
    const braced = /^\$\{(\w+)\}$/.exec(word);
    const bare = /^\$(\w+)$/.exec(word);
    if (braced) {
      const value = env[braced[1] ?? ''];
      if (value === undefined) throw new Error(`ExecStart uses \${${braced[1]}} that the env file does not set`);
      words.push(value);
    } else if (bare) {
      const value = env[bare[1] ?? ''];
      if (value === undefined) throw new Error(`ExecStart uses $${bare[1]} that the env file does not set`);
      words.push(...value.split(/\s+/).filter((w) => w.length > 0));
    } else if (word.includes('$')) {
      throw new Error(`ExecStart word '${word}' mixes text and a variable; not handled here`);
    } else {
      words.push(word);
    }
  }
  return words;
}

/** KEY=VALUE lines of an EnvironmentFile (comments and blanks skipped). */
export function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new Error(`${file}: not KEY=VALUE: '${t}'`);
    env[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return env;
}

/** Narrowing helpers for untyped YAML. */
export function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what}: expected a mapping`);
  return v as Record<string, unknown>;
}

export function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${what}: expected a list`);
  return v;
}

export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string`);
  return v;
}
