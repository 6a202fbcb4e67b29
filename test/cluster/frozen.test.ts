// A provider that freezes (SIGSTOP: the process lives, its sockets stay open, nothing answers)
// is not a crash TCP would report. The entry node's neighbour pings are the liveness check:
// two missed pings and it hangs up, so the query in flight to the frozen node fails with a
// clear status long before its deadline, and the node's routes leave the table.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  infer, originsFor, removeTempDirs, startClusterNode, startDaemonProcess, tempDir, waitFor,
  type ClusterNode, type DaemonProcess,
} from './helpers.ts';

const DEADLINE_MS = 20_000;
let provider: DaemonProcess;
let entry: ClusterNode;

beforeAll(async () => {
  provider = await startDaemonProcess({ dataDir: tempDir(), static: true });
  entry = await startClusterNode({ static: true, noModels: true, bootstrap: [provider.addrs[0] ?? ''], pingEveryMs: 300 });
  await waitFor('the entry knows the provider', () => originsFor(entry, 'speech.vad.raw').has(provider.peerId), 10_000);
}, 60_000);

afterAll(async () => {
  provider.proc.kill('SIGCONT');
  await provider.kill();
  await entry.close();
  removeTempDirs();
});

describe('a frozen provider', () => {
  it('is hung up on after two missed pings: the query in flight fails fast and its routes go', async () => {
    await infer(entry, {}, DEADLINE_MS); // the forward stream is open and used
    provider.proc.kill('SIGSTOP');
    const started = Date.now();
    const err = await infer(entry, {}, DEADLINE_MS).then(() => undefined, (e: unknown) => e as grpc.ServiceError);
    const ms = Date.now() - started;
    expect(err, 'a frozen provider cannot have answered').toBeDefined();
    expect(err?.code, err?.details).toBe(grpc.status.UNAVAILABLE);
    // Two pings 300 ms apart, each with a 2 s timeout, then the hang-up: far from the 20 s deadline.
    expect(ms).toBeLessThan(8000);
    await waitFor('the frozen provider\'s routes leave the entry', () => !originsFor(entry, 'speech.vad.raw').has(provider.peerId), 5000);
  }, 30_000);
});
