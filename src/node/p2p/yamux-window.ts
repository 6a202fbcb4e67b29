// Yamux window updates as the yamux reference implementations send them (hashicorp/yamux,
// go-yamux: `if delta < max/2 && flags == 0 { return }`): only once half of a stream's receive
// window has been used, or when a SYN/ACK flag must go out. @chainsafe/libp2p-yamux sends one
// after every data frame it reads; every forwarded query and every answer is a data frame on a
// neighbour's long-lived forward stream, so each cost the other side a second frame, its own
// Noise message (a cipher set up, a tag) and a wake-up to read it. The sender still always holds
// at least half a window of credit, so flow control and its bound are unchanged
// (docs/PERFORMANCE.md, session 12).
import { yamux } from '@chainsafe/libp2p-yamux';
import type { StreamMuxerFactory } from '@libp2p/interface';
import { coalesceFrames } from './yamux-frames.ts';

type YamuxInit = Parameters<typeof yamux>[0];
type YamuxFactory = ReturnType<ReturnType<typeof yamux>>;
type YamuxMuxer = ReturnType<YamuxFactory['createStreamMuxer']>;

// @chainsafe/libp2p-yamux's StreamState: the states in which the next frame carries a flag.
const STATE_INIT = 0;
const STATE_SYN_RECEIVED = 2;

/** The fields of a YamuxStream this reads (private in its types; pinned by test/node/p2p/yamux-window.test.ts). */
interface WindowedStream {
  state: number;
  recvWindow: number;
  recvWindowCapacity: number;
  sendWindowUpdate: () => void;
}

function isWindowedStream(s: unknown): s is WindowedStream {
  const w = s as Partial<WindowedStream> | null;
  return typeof w === 'object' && w !== null && typeof w.state === 'number' && typeof w.recvWindow === 'number'
    && typeof w.recvWindowCapacity === 'number' && typeof w.sendWindowUpdate === 'function';
}

/**
 * Makes `stream` hold its window update until half its receive window is used (or a flag is
 * due), then send it as before, auto-tuning included. Returns false, changing nothing, when
 * `stream` is not a YamuxStream of the shape this knows.
 */
export function lazyWindowUpdates(stream: unknown): boolean {
  if (!isWindowedStream(stream)) return false;
  const send = stream.sendWindowUpdate;
  stream.sendWindowUpdate = () => {
    const flagDue = stream.state === STATE_INIT || stream.state === STATE_SYN_RECEIVED;
    if (!flagDue && stream.recvWindow - stream.recvWindowCapacity < stream.recvWindow / 2) return;
    send.call(stream);
  };
  return true;
}

type NewStream = (...args: unknown[]) => unknown;

/** A yamux muxer's streams, each with lazyWindowUpdates, as it makes them. */
function lazyMuxer(muxer: YamuxMuxer): YamuxMuxer {
  const m = muxer as unknown as { _newStream?: NewStream };
  const make = m._newStream;
  if (typeof make !== 'function') return muxer;
  m._newStream = (...args: unknown[]): unknown => {
    const s = make.apply(muxer, args);
    lazyWindowUpdates(s);
    return s;
  };
  return muxer;
}

/**
 * @chainsafe/libp2p-yamux's muxer, its streams' window updates sent as the reference yamux sends
 * them, and the frames of one turn of the event loop sent as one Noise message (yamux-frames.ts).
 */
export function lazyWindowYamux(init?: YamuxInit): () => StreamMuxerFactory {
  const make = yamux(init);
  return () => {
    const factory: YamuxFactory = make();
    const create = factory.createStreamMuxer.bind(factory);
    factory.createStreamMuxer = (maConn) => {
      const muxer = lazyMuxer(create(maConn));
      coalesceFrames(muxer);
      return muxer;
    };
    return factory;
  };
}
