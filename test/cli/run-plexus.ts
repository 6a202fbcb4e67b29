// Runs `bash bin/plexus ARGS` as a user would (a separate process, the repo as cwd) and
// collects its exit code and output; past the time limit it is killed and the run fails.
import { spawn } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface Run { code: number | null; stdout: string; stderr: string }

export function plexus(args: readonly string[], timeoutMs = 40_000): Promise<Run> {
  const proc = spawn('bash', ['bin/plexus', ...args], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  proc.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`plexus ${args.join(' ')} ran past ${timeoutMs} ms\n${stderr}`)); }, timeoutMs);
    proc.once('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}
