// The two placements the OCR bench compares, as real daemons: local (one node hosting every
// entry of ocrModelEntries()) and spread (X: the detector and ocr-detect, Y: the recogniser and
// ocr-recognize, P: only the ocr-read entry, whose steps are routed to X and Y; the caller asks P).
import { ocrModelEntries } from '../../src/inference/adapters/ocr/ocr-config.ts';
import { spawnDaemon, stopAll, type DaemonProc } from '../procs.ts';
import { p2pNode } from '../scenarios/plexus.ts';
import { createOcrClient } from './ocr-client.ts';

export interface Placement {
  readonly label: string;
  /** The node the caller asks. */
  readonly entry: DaemonProc;
  /** Peer id → role name, to say who served each step. */
  readonly roles: ReadonlyMap<string, string>;
  stop(): Promise<void>;
}

function entries(names: readonly string[]): Record<string, unknown>[] {
  const all = ocrModelEntries();
  const missing = names.filter((n) => !all.some((e) => e['name'] === n));
  if (missing.length > 0) throw new Error(`ocrModelEntries() has no entry ${missing.join(', ')}`);
  return all.filter((e) => names.includes(String(e['name'])));
}

/** Asks ocr.read until it answers (routes learnt, sessions loaded); throws after timeoutMs. */
async function untilReads(node: DaemonProc, png: Buffer, timeoutMs: number): Promise<void> {
  const client = createOcrClient(node.grpc);
  const t0 = Date.now();
  try {
    for (;;) {
      try {
        await client.read(png);
        return;
      } catch (e) {
        if (Date.now() - t0 > timeoutMs) throw new Error(`ocr.read at ${node.grpc} not answered after ${timeoutMs} ms: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    client.close();
  }
}

export async function startLocal(warmPng: Buffer): Promise<Placement> {
  const node = await spawnDaemon({ models: ocrModelEntries() });
  try {
    await untilReads(node, warmPng, 60_000);
  } catch (e) {
    await node.stop();
    throw e;
  }
  return { label: 'local', entry: node, roles: new Map([[node.peerId, 'local']]), stop: () => node.stop() };
}

/** Short form of a daemon's failure to start: its first line of complaint. */
function why(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s+/g, ' ').slice(0, 400);
}

/**
 * X, Y and P as above; P dials X and Y. Returns the reason instead when the spread placement
 * cannot be built (P refuses the config while ocr-read still needs both models locally).
 */
export async function startSpread(warmPng: Buffer): Promise<Placement | string> {
  const procs: DaemonProc[] = [];
  try {
    const x = await spawnDaemon({ models: entries(['ppocr-det', 'ocr-detect']), node: p2pNode([]) });
    procs.push(x);
    const y = await spawnDaemon({ models: entries(['ppocr-rec', 'ocr-recognize']), node: p2pNode([]) });
    procs.push(y);
    let p: DaemonProc;
    try {
      p = await spawnDaemon({ models: entries(['ocr-read']), node: p2pNode([x, y]) });
    } catch (e) {
      await stopAll(procs);
      return `P (only the ocr-read entry of ocrModelEntries(), steps to be routed to X and Y) did not start: ${why(e)}`;
    }
    procs.push(p);
    await untilReads(p, warmPng, 60_000);
    const roles = new Map([[x.peerId, 'X'], [y.peerId, 'Y'], [p.peerId, 'P']]);
    return { label: 'spread', entry: p, roles, stop: () => stopAll(procs) };
  } catch (e) {
    await stopAll(procs);
    return `spread placement failed: ${why(e)}`;
  }
}
