// A local run answers by its deadline: untilDeadline fails it with DeadlineExceededError when
// the deadline passes first, and otherwise passes its result or error through.
import { describe, expect, it } from 'vitest';
import { DeadlineExceededError, InvalidInputError } from '../../src/errors.ts';
import { untilDeadline } from '../../src/inference/deadline.ts';

const after = <T>(ms: number, v: T): Promise<T> => new Promise((resolve) => setTimeout(() => { resolve(v); }, ms));

describe('untilDeadline', () => {
  it('fails a run still going at its deadline, before the run ends', async () => {
    let ended = false;
    const run = after(400, 'late').then((v) => { ended = true; return v; });
    await expect(untilDeadline(run, Date.now() + 30, "model 'm'")).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(ended).toBe(false);
    await run;
  });

  it('passes a result or an error that comes first through', async () => {
    await expect(untilDeadline(after(5, 'ok'), Date.now() + 5_000, "model 'm'")).resolves.toBe('ok');
    await expect(untilDeadline(Promise.reject(new InvalidInputError('bad')), Date.now() + 5_000, "model 'm'")).rejects.toBeInstanceOf(InvalidInputError);
    await expect(untilDeadline(after(5, 'no deadline'), undefined, "model 'm'")).resolves.toBe('no deadline');
  });

  it('a deadline already past fails at once', async () => {
    await expect(untilDeadline(after(200, 'x'), Date.now() - 1, "model 'm'")).rejects.toThrow(/deadline passed while model 'm' ran/);
  });
});
