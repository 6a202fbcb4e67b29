// The answering end of /plexus/forward: one inbound stream from a neighbour, the queries
// running on it (by correlation id), cancels, bad-frame strikes and the in-flight limit.
import type { Stream } from '@libp2p/interface';
import { CancelledError, PeerUnavailableError, isPlexusError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { FRAME_CANCEL, FRAME_REQUEST, type ForwardCodec, type ForwardRequest, type ForwardResult } from './forward-frame.ts';
import { ForwardFailure, frameBytes } from './forward-common.ts';
import { readFrames, sendFrame } from './framing.ts';

/** What every inbound stream of one protocol instance shares. */
export interface InboundContext {
  readonly log: Logger;
  readonly maxFrameBytes: number;
  /** In-flight queries accepted per inbound stream. */
  readonly maxInFlight: number;
  readonly maxStrikes: number;
  /** See ForwardProtocolInit.onReplied. */
  readonly onReplied: ((req: ForwardRequest, encodeStartedAt: number | undefined, error?: unknown) => void) | undefined;
  /** Answers one query (the protocol's handler). */
  serve(req: ForwardRequest, signal: AbortSignal, receivedAt?: number): Promise<ForwardResult>;
  /** A query started (+1) or settled (-1): the protocol's in-flight count. */
  counted(delta: 1 | -1): void;
}

/** An answer too large for a frame goes back as RESOURCE_EXHAUSTED rather than breaking the stream. */
function resultFrame(codec: ForwardCodec, corr: number, res: ForwardResult, maxFrameBytes: number): Uint8Array[] {
  const parts = codec.encodeResult(corr, res);
  const size = frameBytes(parts);
  if (size <= maxFrameBytes) return parts;
  return codec.encodeError(corr, { kind: 'resource_exhausted', message: `the answer's forward frame of ${size} bytes exceeds the limit of ${maxFrameBytes} bytes`, hops: res.hops });
}

/** Serves one inbound stream from its construction until it closes. */
export class InboundStream {
  readonly #stream: Stream;
  readonly #peer: string;
  readonly #ctx: InboundContext;
  readonly #codec: ForwardCodec;
  readonly #running = new Map<number, AbortController>();
  #strikes = 0;

  /** `codec`: the version the stream was opened for. */
  constructor(stream: Stream, peer: string, codec: ForwardCodec, ctx: InboundContext) {
    this.#stream = stream;
    this.#peer = peer;
    this.#ctx = ctx;
    this.#codec = codec;
    stream.inactivityTimeout = 0;
    stream.addEventListener('close', () => {
      for (const c of this.#running.values()) c.abort(new PeerUnavailableError(`upstream ${peer} went away`));
      this.#running.clear();
    });
    readFrames(stream, ctx.maxFrameBytes, {
      onOversize: (err) => {
        ctx.log.warn({ peer, err: err.message }, 'oversized forward frame: closing the stream');
        stream.abort(err);
      },
      onFrame: (bytes) => { this.#onFrame(bytes); },
    });
  }

  #reply(parts: Uint8Array[]): void {
    if (this.#stream.status === 'open') void sendFrame(this.#stream, parts).catch(() => undefined);
  }

  #onFrame(bytes: Uint8Array): void {
    const receivedAt = this.#ctx.onReplied === undefined ? undefined : performance.now();
    let f;
    try {
      f = this.#codec.decodeFrame(bytes);
    } catch (e) {
      this.#badFrame(bytes, e as Error);
      return;
    }
    if (f.type === FRAME_CANCEL) {
      this.#running.get(f.corr)?.abort(new CancelledError('cancelled by the upstream hop'));
      this.#running.delete(f.corr);
      return;
    }
    if (f.type !== FRAME_REQUEST) return;
    if (this.#running.size >= this.#ctx.maxInFlight) {
      this.#reply(this.#codec.encodeError(f.corr, { kind: 'resource_exhausted', message: `more than ${this.#ctx.maxInFlight} queries in flight on one stream`, hops: [] }));
      return;
    }
    this.#request(f.corr, f.body, receivedAt);
  }

  /** A frame that does not decode: answered INVALID_ARGUMENT when it has a correlation id; too many close the stream. */
  #badFrame(bytes: Uint8Array, e: Error): void {
    this.#strikes++;
    this.#ctx.log.warn({ peer: this.#peer, strikes: this.#strikes, err: e.message }, 'bad forward frame');
    if (bytes.byteLength >= 5) {
      const corr = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, false);
      this.#reply(this.#codec.encodeError(corr, { kind: 'invalid_argument', message: e.message, hops: [] }));
    }
    if (this.#strikes >= this.#ctx.maxStrikes) this.#stream.abort(new Error('too many bad frames'));
  }

  /** Run one query and send its answer back, unless it was cancelled meanwhile. */
  #request(corr: number, body: ForwardRequest, receivedAt: number | undefined): void {
    const ctx = this.#ctx;
    const ctl = new AbortController();
    this.#running.set(corr, ctl);
    ctx.counted(1);
    const replied = ctx.onReplied;
    // One `then` with both handlers (not `finally` first): each promise between the answer and
    // its frame is another microtask turn on a forwarded query's path.
    ctx.serve(body, ctl.signal, receivedAt).then(
      (res) => {
        ctx.counted(-1);
        const at = replied && performance.now();
        const sent = this.#running.delete(corr);
        if (sent) this.#reply(resultFrame(this.#codec, corr, res, ctx.maxFrameBytes));
        replied?.(body, sent ? at : undefined);
      },
      (err: unknown) => {
        ctx.counted(-1);
        const at = replied && performance.now();
        const sent = this.#running.delete(corr);
        if (sent) {
          const hops = err instanceof ForwardFailure ? err.hops : [];
          const kind = isPlexusError(err) ? err.kind : 'internal';
          this.#reply(this.#codec.encodeError(corr, { kind, message: (err as Error).message, hops }));
        }
        replied?.(body, sent ? at : undefined, err);
      },
    );
  }
}
