// A local run answers by its request's deadline: the run's promise raced against a timer that
// fails it with DeadlineExceededError when the deadline passes. The run itself goes on (ONNX
// Runtime cannot be stopped mid-run); its late result or error is dropped.
import { DeadlineExceededError } from '../errors.ts';

export function untilDeadline<T>(run: Promise<T>, deadline: number | undefined, what: string): Promise<T> {
  if (deadline === undefined) return run;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new DeadlineExceededError(`deadline passed while ${what} ran`)); }, Math.max(0, deadline - Date.now()));
    run.then(
      (v) => { clearTimeout(timer); resolve(v); },
      (e: unknown) => { clearTimeout(timer); reject(e instanceof Error ? e : new Error(String(e))); },
    );
  });
}
