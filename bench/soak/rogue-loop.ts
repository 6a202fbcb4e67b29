// The soak's rogue peer: every few seconds a fresh identity (a raw js-libp2p host, as in
// test/cluster/rogue.ts) becomes a routes neighbour of one of the given nodes, floods it with
// validly signed adverts of fake origins (a different subset each time, so origins come and go)
// carrying dial hints to ports nobody listens on, then speaks garbage on the routes and forward
// protocols until the node hangs up on it.
import { multiaddr } from '@multiformats/multiaddr';
import { FORWARD_PROTOCOL } from '../../src/node/p2p/forward-protocol.ts';
import { ROUTES_PROTOCOL } from '../../src/node/p2p/routes-protocol.ts';
import { fakeOrigins, signedUpdates, smallModels, startRogue, type FakeOrigin } from '../../test/cluster/rogue.ts';

export interface RogueStats {
  cycles: number;
  originsSent: number;
  garbageFrames: number;
  /** Cycles the target refused or cut short (connection limits, hang-ups): expected. */
  refused: number;
  firstRefusal?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

function lengthPrefixed(payload: Uint8Array, announced = payload.byteLength): Uint8Array {
  const out = new Uint8Array(4 + payload.byteLength);
  new DataView(out.buffer).setUint32(0, announced, false);
  out.set(payload, 4);
  return out;
}

const GARBAGE = [
  lengthPrefixed(Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x00, 0xff)),
  lengthPrefixed(new TextEncoder().encode(JSON.stringify({ v: 99, u: [] }))),
  lengthPrefixed(new Uint8Array(0), 512 * 1024 * 1024),
];

/** A forward frame whose header length does not fit. */
function badForwardFrame(corr: number): Uint8Array {
  const b = new Uint8Array(13);
  const v = new DataView(b.buffer);
  v.setUint8(0, 1);
  v.setUint32(1, corr, false);
  v.setUint32(5, 0xfffffff0, false);
  return lengthPrefixed(b);
}

async function oneCycle(target: string, pool: readonly FakeOrigin[], perCycle: number, stats: RogueStats): Promise<void> {
  const rogue = await startRogue();
  try {
    await rogue.connect(target);
    const start = Math.floor(Math.random() * pool.length);
    const subset = Array.from({ length: Math.min(perCycle, pool.length) }, (_, i) => pool[(start + i) % pool.length] as FakeOrigin);
    const hints = (): string[] => Array.from({ length: 16 }, () => `/ip4/127.0.0.1/tcp/${40_000 + Math.floor(Math.random() * 20_000)}`);
    await rogue.send(await signedUpdates(subset, smallModels), hints);
    stats.originsSent += subset.length;
    await sleep(1000);
    // Forward garbage first: it costs a stream; routes garbage costs the connection (3 strikes).
    const fwd = await rogue.host.libp2p.dialProtocol(multiaddr(target), FORWARD_PROTOCOL, { signal: AbortSignal.timeout(3000) });
    for (let corr = 1; corr <= 3; corr++) { fwd.send(badForwardFrame(corr)); stats.garbageFrames++; }
    await sleep(300);
    const routes = await rogue.host.libp2p.dialProtocol(multiaddr(target), ROUTES_PROTOCOL, { signal: AbortSignal.timeout(3000) });
    for (const g of GARBAGE) { routes.send(g); stats.garbageFrames++; }
    await sleep(500);
  } finally {
    await rogue.stop();
  }
}

/** Runs until `stopped()`; targets are asked for each cycle (addresses change as nodes restart). */
export async function rogueLoop(targets: () => readonly string[], stopped: () => boolean, opts: { poolSize: number; perCycle: number; everyMs: [number, number] }): Promise<RogueStats> {
  const stats: RogueStats = { cycles: 0, originsSent: 0, garbageFrames: 0, refused: 0 };
  const pool = await fakeOrigins(opts.poolSize);
  while (!stopped()) {
    const target = pick(targets());
    if (target !== undefined) {
      stats.cycles++;
      try {
        await oneCycle(target, pool, opts.perCycle, stats);
      } catch (e) {
        stats.refused++;
        stats.firstRefusal ??= e instanceof Error ? e.message.slice(0, 160) : String(e);
      }
    }
    const [lo, hi] = opts.everyMs;
    await sleep(lo + Math.random() * (hi - lo));
  }
  return stats;
}
