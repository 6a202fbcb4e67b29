// The throughput scenario's targets, each started in processes of its own and checked to
// answer: the bare grpc-js echo, the bare servers that give the c=1 targets their floors
// (bare-servers.ts), and each build's local node and router.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ECHO_PATH } from '../echo-servers.ts';
import { decodeInferResponse, MODEL_INFER_PATH, rawCaller } from '../raw-grpc.ts';
import { spawnDaemon, spawnReady, stopAll, type DaemonProc } from '../procs.ts';
import { batchedSileroSpec, sileroSpec, startLine } from './plexus.ts';
import type { Build, Running, Started } from './throughput-windows.ts';

const ECHO_CHILD = fileURLToPath(new URL('../echo-child.ts', import.meta.url));
const BARE_CHILD = fileURLToPath(new URL('../bare-child.ts', import.meta.url));

/** One answer decoded and checked before timing, so a run of fast errors cannot pass as throughput. */
async function checkAnswers(address: string, payload: Buffer): Promise<void> {
  const caller = rawCaller(address, MODEL_INFER_PATH, payload);
  try {
    const res = decodeInferResponse(await caller.call()) as { outputs?: { name: string }[] };
    if (!(res.outputs ?? []).some((o) => o.name === 'output')) throw new Error(`answer without 'output': ${JSON.stringify(res).slice(0, 200)}`);
  } finally {
    caller.close();
  }
}

/** The bare echo's answer is the request; a bare server's is checked to come at all. */
async function checkBare(address: string, payload: Buffer, minBytes: number): Promise<void> {
  const caller = rawCaller(address, ECHO_PATH, payload);
  try {
    const answer = await caller.call();
    if (answer.byteLength < minBytes) throw new Error(`bare server at ${address} answered ${answer.byteLength} B, expected ≥ ${minBytes}`);
  } finally {
    caller.close();
  }
}

/** echo-child.ts in a process of its own: its libp2p echo on the libraries' defaults, or (`node-stack`) as a node's host builds it. */
export function spawnEchoChild(stack: 'defaults' | 'node-stack'): ReturnType<typeof spawnReady<{ grpc: string; libp2p: string[] }>> {
  return spawnReady<{ grpc: string; libp2p: string[] }>(ECHO_CHILD, stack === 'defaults' ? [] : [stack]);
}

async function startEcho(): Promise<Started> {
  const echo = await spawnEchoChild('defaults');
  return { address: echo.ready.grpc, procs: [{ role: 'echo', pid: echo.pid }], stop: () => echo.stop() };
}

/** silero-vad's answer: output [1,1] and stateN [2,1,128], float32. */
const SILERO_ANSWER_BYTES = 4 + 2 * 128 * 4;

async function startBareModel(mode: 'model' | 'model-inline'): Promise<Started> {
  const server = await spawnReady<{ grpc: string }>(BARE_CHILD, [mode]);
  return { address: server.ready.grpc, procs: [{ role: 'server', pid: server.pid }], stop: () => server.stop() };
}

async function startBareRelay(): Promise<Started> {
  const echo = await spawnEchoChild('node-stack');
  try {
    const relay = await spawnReady<{ grpc: string }>(BARE_CHILD, ['relay', JSON.stringify(echo.ready.libp2p)]);
    return {
      address: relay.ready.grpc,
      procs: [{ role: 'relay', pid: relay.pid }, { role: 'echo', pid: echo.pid }],
      stop: async () => { await Promise.all([relay.stop(), echo.stop()]); },
    };
  } catch (e) {
    await echo.stop();
    throw e;
  }
}

/** A build's silero-vad entry: batched as the embedded default's, where that build can. */
const sileroOf = (b: Build): Record<string, unknown> => (b.batching ? batchedSileroSpec() : sileroSpec());

/** Whether the build in `root` knows `batching.axes` (silero-vad cannot batch without it). */
export function batchesSilero(root: string): boolean {
  const file = join(root, 'src/inference/batch-tensors.ts');
  return existsSync(file) && readFileSync(file, 'utf8').includes('axisLookup');
}

async function startLocal(b: Build): Promise<Started> {
  const d = await spawnDaemon({ models: [sileroOf(b)], bin: b.bin });
  return { address: d.grpc, procs: [{ role: 'node', pid: d.pid }], stop: () => d.stop() };
}

async function startRouter(b: Build): Promise<Started> {
  const line: DaemonProc[] = await startLine(2, b.bin, sileroOf(b));
  const [router, provider] = line as [DaemonProc, DaemonProc];
  return { address: router.grpc, procs: [{ role: 'router', pid: router.pid }, { role: 'provider', pid: provider.pid }], stop: () => stopAll(line) };
}

/** `start`'s target, checked with `check`; stopped again when the check fails. */
async function started(start: () => Promise<Started>, check: (address: string) => Promise<void>): Promise<Started> {
  const s = await start();
  try {
    await check(s.address);
  } catch (e) {
    await s.stop();
    throw e;
  }
  return s;
}

/**
 * Every target, started one after the other into `running` (so a failure stops those already
 * there): the echo, the bare model servers and relay, then each build's local node and router.
 */
export async function startTargets(builds: readonly Build[], payload: Buffer, running: Running[]): Promise<void> {
  const bare = (path: string) => (s: Started, key: string, label: string): Running => ({ ...s, key, label, path });
  const onEcho = bare(ECHO_PATH);
  running.push(onEcho(await started(startEcho, (a) => checkBare(a, payload, payload.byteLength)), 'echo', 'bare grpc-js echo (another process)'));
  const model = (a: string): Promise<void> => checkBare(a, payload, SILERO_ANSWER_BYTES);
  running.push(onEcho(await started(() => startBareModel('model'), model), 'bareModel', 'bare model server: grpc-js, silero-vad in a worker thread, no Plexus code (another process)'));
  running.push(onEcho(await started(() => startBareModel('model-inline'), model), 'bareInline', 'bare model server, silero-vad on its event loop (another process)'));
  running.push(onEcho(await started(startBareRelay, (a) => checkBare(a, payload, payload.byteLength)), 'bareRelay', 'bare relay: grpc-js in, libp2p round trip to an echo, no Plexus code (two processes)'));
  const kinds = [
    { key: 'local', title: 'Plexus node, model local', start: startLocal },
    { key: 'router', title: 'Plexus router, model one hop away', start: startRouter },
  ] as const;
  const onNode = bare(MODEL_INFER_PATH);
  for (const k of kinds) {
    for (const b of builds) running.push(onNode(await started(() => k.start(b), (a) => checkAnswers(a, payload)), `${b.tag}${k.key}`, `${b.label}${k.title}`));
  }
}
