// A yamux muxer's frames of one turn of the event loop go to its encrypted connection as one send (one Noise
// message), except under light load, where the first frame of a turn goes at once: on a stand-in
// muxer for the edge cases, and on the installed libp2p stack between two real hosts.
import { afterEach, describe, expect, it } from 'vitest';
import { Uint8ArrayList } from 'uint8arraylist';
import { coalesceFrames, FLUSH_BYTES } from '../../../src/node/p2p/yamux-frames.ts';
import { encryptedConnection, sinkPair, type SinkPair } from './sink-pair.ts';

/** Stands in for AbstractStreamMuxer: `send` hands the connection its data, and says whether it takes more. */
class Muxer {
  readonly sent: Uint8Array[] = [];
  readonly log: string[] = [];
  full = false;
  maConn = { writeStatus: 'writable' };

  send(data: Uint8Array | Uint8ArrayList): boolean {
    if (this.maConn.writeStatus !== 'writable') throw new Error('Cannot write to a stream that is closed');
    this.sent.push(data instanceof Uint8Array ? data : data.subarray());
    return !this.full;
  }

  async close(): Promise<void> {
    await Promise.resolve();
    this.send(Uint8Array.of(0xff)); // yamux's GoAway goes last
    this.log.push('closed');
  }

  abort(): void {
    this.send(Uint8Array.of(0xfe));
    this.log.push('aborted');
  }

  onTransportClosed(): void {
    this.log.push('transport closed');
  }
}

const tick = (): Promise<void> => new Promise((r) => { process.nextTick(r); });
const turn = (): Promise<void> => new Promise((r) => { setImmediate(r); });

/** A coalescing muxer under load: its last turn carried two frames, so the next turn's all wait. */
async function batching(m: Muxer): Promise<Muxer> {
  expect(coalesceFrames(m)).toBe(true);
  m.send(Uint8Array.of(0xa0));
  m.send(Uint8Array.of(0xa1));
  await turn();
  m.sent.length = 0;
  return m;
}

describe('coalesceFrames', () => {
  it('under light load sends the first frame of a turn at once, the rest of the turn as one at its end', async () => {
    const m = new Muxer();
    expect(coalesceFrames(m)).toBe(true);
    expect(m.send(Uint8Array.of(1))).toBe(true);
    expect(m.sent).toEqual([Uint8Array.of(1)]); // at once: nothing was outstanding
    m.send(Uint8Array.of(2));
    m.send(Uint8Array.of(3));
    expect(m.sent.length).toBe(1);
    await turn();
    expect(m.sent).toEqual([Uint8Array.of(1), Uint8Array.of(2, 3)]);
    // That turn carried three frames: the next one's first frame waits for its end.
    m.send(Uint8Array.of(4));
    expect(m.sent.length).toBe(2);
    await turn();
    expect(m.sent[2]).toEqual(Uint8Array.of(4));
    // One frame in the last turn: light load again.
    m.send(Uint8Array.of(5));
    expect(m.sent[3]).toEqual(Uint8Array.of(5));
    // An idle turn keeps it so.
    await turn();
    await turn();
    m.send(Uint8Array.of(6));
    expect(m.sent[4]).toEqual(Uint8Array.of(6));
    // A full connection says so through the frame sent at once.
    await turn();
    m.full = true;
    expect(m.send(Uint8Array.of(7))).toBe(false);
  });

  it('under load sends the frames of one turn as one, in order, at the end of the turn', async () => {
    const m = await batching(new Muxer());
    expect(m.send(Uint8Array.of(1, 2))).toBe(true);
    expect(m.send(new Uint8ArrayList(Uint8Array.of(3), Uint8Array.of(4, 5)))).toBe(true);
    await tick();
    expect(m.send(Uint8Array.of(6))).toBe(true); // a later tick of the same turn
    expect(m.sent).toEqual([]);
    await turn();
    expect(m.sent).toEqual([Uint8Array.of(1, 2, 3, 4, 5, 6)]);
    m.send(Uint8Array.of(7));
    expect(m.sent.length).toBe(1);
    await turn();
    expect(m.sent.length).toBe(2);
  });

  it('sends at once past FLUSH_BYTES, and passes on what the connection says of its buffer', async () => {
    const m = await batching(new Muxer());
    m.full = true;
    expect(m.send(new Uint8Array(FLUSH_BYTES - 1))).toBe(true);
    expect(m.send(new Uint8Array(1))).toBe(false); // the muxer's own send paused its streams
    expect(m.sent.map((b) => b.byteLength)).toEqual([FLUSH_BYTES]);
    await turn();
    expect(m.sent.length).toBe(1);
  });

  it('a close or an abort sends what is pending, the GoAway last; a lost transport drops it without a throw', async () => {
    const closing = await batching(new Muxer());
    closing.send(Uint8Array.of(1));
    await closing.close();
    expect(closing.sent).toEqual([Uint8Array.of(1, 0xff)]);

    const aborting = await batching(new Muxer());
    aborting.send(Uint8Array.of(2));
    aborting.abort();
    expect(aborting.sent).toEqual([Uint8Array.of(2, 0xfe)]);

    const lost = await batching(new Muxer());
    lost.send(Uint8Array.of(3));
    lost.onTransportClosed();
    await turn();
    expect(lost.sent).toEqual([]);
    expect(lost.log).toEqual(['transport closed']);

    // A connection closed under the pending frames: they go with it; no throw on the next tick.
    const closed = await batching(new Muxer());
    closed.send(Uint8Array.of(4));
    closed.maConn.writeStatus = 'closed';
    await turn();
    expect(closed.sent).toEqual([]);
  });

  it('leaves anything of another shape alone', () => {
    expect(coalesceFrames({})).toBe(false);
    expect(coalesceFrames(null)).toBe(false);
  });
});

describe('coalesced frames between two libp2p hosts', () => {
  let pair: SinkPair | undefined;
  afterEach(async () => { await pair?.stop(); });

  it('20 messages written in one turn leave as two Noise messages (the first at once, under light load) and arrive whole and in order', async () => {
    const lone = new Uint8Array(100).fill(0xee);
    const sent: Uint8Array[] = Array.from({ length: 20 }, (_, i) => new Uint8Array(500 + i).fill(i));
    pair = await sinkPair(sent.reduce((n, m) => n + m.byteLength, lone.byteLength));
    const s = pair.stream;
    const encrypted = encryptedConnection<{ send: (d: unknown) => boolean }>(pair.hosts[1]);
    const send = encrypted.send.bind(encrypted);
    let messages = 0;
    encrypted.send = (d: unknown) => { messages++; return send(d); };
    await turn(); // the stream's opening frames go first
    s.send(lone);
    await turn(); // a turn of one frame: light load
    messages = 0;
    for (const [i, m] of sent.entries()) {
      s.send(m);
      if (i === 0) expect(messages).toBe(1); // at once
      if (i % 5 === 4) await tick(); // ticks within the turn: the rest still one message
    }
    const got = await pair.received;
    expect(messages).toBe(2);
    expect(Buffer.from(got).equals(Buffer.concat([lone, ...sent]))).toBe(true);
    await s.close();
  });
});
