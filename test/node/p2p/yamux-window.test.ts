// Yamux window updates only once half the receive window is used (as hashicorp/go-yamux send
// them), on the installed @chainsafe/libp2p-yamux streams, and over real libp2p hosts.
import { afterEach, describe, expect, it } from 'vitest';
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream';
import { defaultLogger } from '@libp2p/logger';
import { multiaddr } from '@multiformats/multiaddr';
import type { Stream } from '@libp2p/interface';
import { Uint8ArrayList } from 'uint8arraylist';
import { lazyWindowUpdates } from '../../../src/node/p2p/yamux-window.ts';
import type { P2PHost } from '../../../src/node/p2p/host.ts';
import { startHost } from './sink-pair.ts';

const WINDOW = 256 * 1024;
const FRAME = 4096;
// @chainsafe/libp2p-yamux's FrameType, Flag and StreamState values (the yamux spec's).
const DATA = 0;
const WINDOW_UPDATE = 1;
const FLAG_ACK = 2;
const ESTABLISHED = 3;
const SYN_RECEIVED = 2;

interface Header { type: number; flag: number; streamID: number; length: number }

function stream(state: number, lazy: boolean): { s: YamuxStream; sent: Header[] } {
  const sent: Header[] = [];
  const s = new YamuxStream({
    id: '1', streamId: 1, state, direction: 'inbound', initialStreamWindowSize: WINDOW,
    sendFrame: (h: Header) => { sent.push(h); return true; },
    getRTT: () => -1, log: defaultLogger().forComponent('test:yamux'),
  });
  s.addEventListener('message', () => undefined); // read at once, as the forward protocol does
  if (lazy) expect(lazyWindowUpdates(s)).toBe(true);
  return { s, sent };
}

function receive(s: YamuxStream, frames: number): void {
  for (let i = 0; i < frames; i++) {
    const frame = { header: { type: DATA, flag: 0, streamID: 1, length: FRAME }, data: new Uint8ArrayList(new Uint8Array(FRAME)) };
    s.handleData(frame as unknown as Parameters<YamuxStream['handleData']>[0]); // uint8arraylist: yamux's own copy
  }
}

describe('lazyWindowUpdates', () => {
  it('sends one update per half window used instead of one per data frame, never leaving the sender less than half a window', () => {
    const eager = stream(ESTABLISHED, false);
    receive(eager.s, 64);
    expect(eager.sent.length).toBe(64); // the library alone: one per frame

    const lazy = stream(ESTABLISHED, true);
    const credit: number[] = [];
    let remote = WINDOW; // what the sender may still send: the window, less what it sent, plus updates
    for (let i = 0; i < 64; i++) {
      const before = lazy.sent.length;
      receive(lazy.s, 1);
      remote -= FRAME;
      for (const h of lazy.sent.slice(before)) remote += h.length;
      credit.push(remote);
    }
    expect(lazy.sent).toEqual([
      { type: WINDOW_UPDATE, flag: 0, streamID: 1, length: WINDOW / 2 },
      { type: WINDOW_UPDATE, flag: 0, streamID: 1, length: WINDOW / 2 },
    ]);
    expect(Math.min(...credit)).toBeGreaterThan(WINDOW / 2 - FRAME);
    expect(credit.at(-1)).toBe(WINDOW);
  });

  it('answers a new inbound stream at once (its ACK flag cannot wait)', () => {
    const { s, sent } = stream(SYN_RECEIVED, true);
    receive(s, 1);
    expect(sent).toEqual([{ type: WINDOW_UPDATE, flag: FLAG_ACK, streamID: 1, length: FRAME }]);
    receive(s, 1);
    expect(sent.length).toBe(1);
  });

  it('leaves anything that is not a yamux stream alone', () => {
    expect(lazyWindowUpdates({})).toBe(false);
    expect(lazyWindowUpdates(null)).toBe(false);
  });
});

describe('a libp2p host with lazy window updates', () => {
  const hosts: P2PHost[] = [];
  afterEach(async () => { await Promise.all(hosts.splice(0).map((h) => h.stop().catch(() => undefined))); });

  it('carries many small messages and one many times its window, both ways, in order', async () => {
    const a = await startHost();
    hosts.push(a);
    const b = await startHost();
    hosts.push(b);
    let served: Stream | undefined;
    await a.libp2p.handle('/plexus/test-echo/1.0.0', (s: Stream) => {
      served = s;
      s.addEventListener('message', (e) => { s.send(e.data); });
      s.addEventListener('remoteCloseWrite', () => { void s.close(); });
    });
    const s = await b.libp2p.dialProtocol(multiaddr(a.multiaddrs()[0] ?? ''), '/plexus/test-echo/1.0.0', { signal: AbortSignal.timeout(5000) });
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) sent.push(new Uint8Array(3412).fill(i % 251));
    sent.push(new Uint8Array(8 * WINDOW).map((_, i) => i % 253));
    const total = sent.reduce((n, m) => n + m.byteLength, 0);
    const got = new Uint8ArrayList();
    const echoed = new Promise<void>((resolve) => {
      s.addEventListener('message', (e) => { got.append(e.data); if (got.byteLength >= total) resolve(); });
    });
    for (const m of sent) {
      if (!s.send(m)) await new Promise((r) => { s.addEventListener('drain', r, { once: true }); });
    }
    await echoed;
    expect(Buffer.from(got.subarray()).equals(Buffer.concat(sent))).toBe(true);
    expect(Object.hasOwn(s, 'sendWindowUpdate')).toBe(true);
    expect(served !== undefined && Object.hasOwn(served, 'sendWindowUpdate')).toBe(true);
    await s.close();
  });
});
