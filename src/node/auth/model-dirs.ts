// Model repository loads from clients may only name model files under the configured model
// directories (node.repository.modelDirs, default the config file's directory). A path outside
// is refused with PERMISSION_DENIED before anything looks at the file, so the answer is the
// same whether it exists or not; a symlink inside that leads outside is refused the same way.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { PermissionDeniedError } from '../../errors.ts';

const inside = (file: string, dir: string): boolean => {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

const real = (p: string): string | undefined => {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
};

/** Throws PermissionDeniedError unless `entry.path` (when a file path) lies under one of `dirs`. */
export function checkModelPath(entry: Record<string, unknown>, baseDir: string, dirs: readonly string[]): void {
  const p = entry.path;
  if (typeof p !== 'string' || p.startsWith('builtin:')) return;
  const refuse = (): never => {
    throw new PermissionDeniedError(`config.path: '${p}' is not under a model directory of this node (node.repository.modelDirs); loads may only name files there`);
  };
  const file = path.resolve(baseDir, p);
  const lexical = dirs.filter((d) => inside(file, d));
  if (lexical.length === 0) refuse();
  // Inside lexically; when it exists, its real path must be inside a real model directory too.
  const realFile = real(file);
  if (realFile === undefined) return;
  if (!dirs.some((d) => { const rd = real(d); return rd !== undefined && inside(realFile, rd); })) refuse();
}
