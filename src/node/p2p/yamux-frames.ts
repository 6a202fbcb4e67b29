// One Noise message per turn of the event loop for each yamux connection, instead of one per
// frame. @chainsafe/libp2p-yamux hands every frame to the encrypted connection on its own, and
// Noise seals each send as its own message: a ChaCha20-Poly1305 cipher set up (Node's
// `createCipheriv`, ~6.5% of a router's busy time at c=64), a 16-byte tag, a TCP write, and on
// the other side a decipher and a 'message' event each. The muxer's frames now wait for the
// end of the event loop's turn (setImmediate: after the I/O callbacks of this turn) and go to
// Noise together, in order, as one send. Per tick (process.nextTick) was not enough: a router's
// forward frames and a provider's answers each come from their own I/O callback (a gRPC
// stream's data, a worker's message), so a tick held one frame (measured: 22,243 frames in
// 22,229 sends at c=64). Per turn, a router at c=64 sent ~9 frames per Noise message and its
// provider ~3, and the machine's TCP segments per routed query fell from 2.7 to 1.0. Under light
// load nothing waits, as Nagle's algorithm sends at once when nothing is outstanding: when the
// last turn carried one frame or none, the first frame of a turn goes at once and only the frames
// after it wait; a turn of two or more makes all of the next turn's wait. A lone query (c=1) no
// longer waits for the end of the turn at the router and again at the provider (measured with
// timestamps at c=1 on this 2-core machine: 15-25 µs less each way; docs/PERFORMANCE.md, session 15).
// Back-pressure is unchanged: past FLUSH_BYTES the frames go at once, and the connection still
// reports a full buffer through the muxer's own send, which pauses its streams until it drains.
import { Uint8ArrayList } from 'uint8arraylist';

type Send = (data: unknown) => boolean;
type Close = (...args: unknown[]) => Promise<unknown>;
type Abort = (...args: unknown[]) => unknown;

/** Past this many bytes pending, a turn's frames go at once (a Noise message holds 65,519). */
export const FLUSH_BYTES = 64 * 1024;

/** The fields of a libp2p stream muxer this wraps (pinned by test/node/p2p/yamux-frames.test.ts). */
interface FramedMuxer {
  send: Send;
  close: Close;
  abort: Abort;
  onTransportClosed: Abort;
  maConn: { writeStatus?: unknown };
}

function isFramedMuxer(m: unknown): m is FramedMuxer {
  const f = m as Partial<FramedMuxer> | null;
  return typeof f === 'object' && f !== null && typeof f.send === 'function' && typeof f.close === 'function'
    && typeof f.abort === 'function' && typeof f.onTransportClosed === 'function' && typeof f.maConn === 'object' && f.maConn !== null;
}

/** A frame as yamux sends it: its header alone, or header and data in a list. */
type Frame = Uint8Array | Uint8ArrayList;

/**
 * The frames a muxer sent this turn, waiting to go as one send. Like Nagle's algorithm, a
 * connection that carried one frame or none in its last turn (light load: a lone query at c=1)
 * sends the first frame of a turn at once, without waiting for the turn to end; any more in that
 * turn wait, and a turn of two or more frames makes the next turn's frames all wait (batching).
 */
class PendingFrames {
  #frames: Frame[] = [];
  #bytes = 0;
  #scheduled = false;
  /** Frames added since the turn began (the end of the turn resets it). */
  #inTurn = 0;
  /** The last turn carried at most one frame: the next turn's first frame goes at once. */
  #eager = true;
  readonly #send: (frames: readonly Frame[]) => boolean;

  constructor(send: (frames: readonly Frame[]) => boolean) {
    this.#send = send;
  }

  /**
   * Sends the frame at once when the connection is lightly loaded and nothing is pending (the
   * first frame of a turn), else queues it: sent at once past FLUSH_BYTES (returning what the
   * connection said), else at the end of this turn.
   */
  add(frame: Frame): boolean {
    this.#inTurn++;
    if (!this.#scheduled) {
      // Nothing is pending (every queued frame has a turn end scheduled): no frame overtakes another.
      this.#scheduled = true;
      setImmediate(this.#onTurnEnd);
      if (this.#eager) return this.#send([frame]);
    }
    this.#frames.push(frame);
    this.#bytes += frame.byteLength;
    if (this.#bytes >= FLUSH_BYTES) return this.flush();
    return true;
  }

  readonly #onTurnEnd = (): void => {
    this.#scheduled = false;
    this.#eager = this.#inTurn <= 1;
    this.#inTurn = 0;
    this.flush();
  };

  /** Sends what is pending as one; true when nothing was pending. */
  flush(): boolean {
    if (this.#frames.length === 0) return true;
    const frames = this.#frames;
    this.#frames = [];
    this.#bytes = 0;
    return this.#send(frames);
  }

  /** Forgets what is pending (the connection is gone). */
  drop(): void {
    this.#frames = [];
    this.#bytes = 0;
  }
}

/**
 * Makes `muxer` send the frames of one turn of the event loop to its connection as one message.
 * Returns false, changing nothing, when `muxer` is not of the shape this knows.
 */
export function coalesceFrames(muxer: unknown): boolean {
  if (!isFramedMuxer(muxer)) return false;
  const m = muxer;
  const { send, close, abort, onTransportClosed } = m;
  const pending = new PendingFrames((frames) => {
    // A connection closed meanwhile takes no more data (its send would throw): the frames go
    // with it, as they would have gone unread.
    if (m.maConn.writeStatus !== 'writable') return false;
    return send.call(m, frames.length === 1 ? frames[0] : new Uint8ArrayList(...frames));
  });
  m.send = (data: unknown): boolean => pending.add(data as Frame);
  // The muxer's close queues a GoAway behind any pending frames, and the connection closes right
  // after it returns: send them all, in order, before that.
  m.close = async (...args: unknown[]): Promise<unknown> => {
    const r = await close.apply(m, args);
    pending.flush();
    return r;
  };
  m.abort = (...args: unknown[]): unknown => {
    const r = abort.apply(m, args);
    pending.flush();
    return r;
  };
  m.onTransportClosed = (...args: unknown[]): unknown => {
    pending.drop();
    return onTransportClosed.apply(m, args);
  };
  return true;
}
