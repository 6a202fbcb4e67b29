// /plexus/forward: one long-lived outbound stream per neighbour, reused for every query; many
// in-flight queries are multiplexed by a correlation id. Responses come back on the same stream.
// A stream that dies fails its in-flight queries at once. Two versions, the same frames with
// another header: 2.0.0 (binary, forward-codec.ts) is offered first and 1.0.0 (JSON,
// forward-codec-v1.ts) second, so a node still on 1.0.0 is spoken to in its version; the version
// multistream-select settles on is the stream's `protocol`, and its codec serves the stream.
import type { Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { CancelledError, ConfigError, DeadlineExceededError, MessageTooLargeError, PeerUnavailableError, RemoteError, ShuttingDownError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { codecV2 } from './forward-codec.ts';
import { codecV1 } from './forward-codec-v1.ts';
import { FRAME_ERROR, FRAME_RESULT, type ForwardCodec, type ForwardRequest, type ForwardResult } from './forward-frame.ts';
import { describeError, ForwardFailure, frameBytes } from './forward-common.ts';
import { InboundStream, type InboundContext } from './forward-inbound.ts';
import { readFrames, sendFrame } from './framing.ts';
import type { P2PHost } from './host.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, forwardFrameBytes } from '../node-defaults.ts';

export const FORWARD_PROTOCOL = '/plexus/forward/2.0.0';
export const FORWARD_PROTOCOL_V1 = '/plexus/forward/1.0.0';
/** Each version this node speaks, newest first (the order a dial offers them in), with its codec. */
export const FORWARD_CODECS: ReadonlyMap<string, ForwardCodec> = new Map([[FORWARD_PROTOCOL, codecV2], [FORWARD_PROTOCOL_V1, codecV1]]);

/** Answers a query that arrived from a neighbour (run locally or forward further); `receivedAt`: performance.now() when its frame was read. */
export type ForwardHandler = (req: ForwardRequest, signal: AbortSignal, receivedAt?: number) => Promise<ForwardResult>;

export interface ForwardProtocolInit {
  readonly host: P2PHost;
  readonly logger: Logger;
  /** Largest frame sent or accepted; default forwardFrameBytes(DEFAULT_MAX_MESSAGE_BYTES). A larger one to send fails only its query. */
  readonly maxFrameBytes?: number;
  /** In-flight queries accepted per inbound stream. */
  readonly maxInFlight?: number;
  readonly maxStrikes?: number;
  /** Told once per handled query, after its answer was encoded and sent (encodeStartedAt undefined when none was: cancelled). Tracing. */
  readonly onReplied?: (req: ForwardRequest, encodeStartedAt: number | undefined, error?: unknown) => void;
  /** The versions spoken, a subset of FORWARD_CODECS' keys, newest first; default all of them. */
  readonly versions?: readonly string[];
}

export { ForwardFailure } from './forward-common.ts';

export interface ForwardProtocol {
  /** Send a query to a neighbour. Rejects with RemoteError (the remote's kind), PeerUnavailableError, DeadlineExceededError or CancelledError. */
  send(peer: string, req: ForwardRequest, signal?: AbortSignal): Promise<ForwardResult>;
  /**
   * Queries from neighbours are handed to this handler (the routed dispatcher, built with this
   * protocol as its forward path); until one is set they are refused UNAVAILABLE. Returns an unsubscribe.
   */
  onQuery(handler: ForwardHandler): () => void;
  /** Queries from neighbours being answered right now. */
  inFlight(): number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

interface Pending {
  resolve(r: ForwardResult): void;
  reject(e: Error): void;
}

interface Channel {
  stream: Stream;
  codec: ForwardCodec;
  pending: Map<number, Pending>;
  nextCorr: number;
}

/** The codec of the version a stream was opened for (multistream-select agreed on one we offered or handle). */
function codecOf(stream: Stream): ForwardCodec {
  const codec = FORWARD_CODECS.get(stream.protocol);
  if (codec === undefined) throw new Error(`forward stream opened for '${stream.protocol}', a version this node does not speak`);
  return codec;
}

export function createForwardProtocol(init: ForwardProtocolInit): ForwardProtocol {
  return new ForwardProtocolCore(init);
}

class ForwardProtocolCore implements ForwardProtocol {
  readonly #log: Logger;
  readonly #libp2p: P2PHost['libp2p'];
  readonly #maxFrameBytes: number;
  readonly #channels = new Map<string, Promise<Channel>>();
  readonly #inbound = new Set<Stream>();
  readonly #context: InboundContext;
  readonly #versions: readonly string[];
  #running = false;
  #handling = 0;
  #handler: ForwardHandler | undefined;

  constructor(init: ForwardProtocolInit) {
    this.#log = init.logger;
    this.#libp2p = init.host.libp2p;
    this.#maxFrameBytes = init.maxFrameBytes ?? forwardFrameBytes(DEFAULT_MAX_MESSAGE_BYTES);
    this.#versions = init.versions ?? [...FORWARD_CODECS.keys()];
    const unknown = this.#versions.filter((v) => !FORWARD_CODECS.has(v));
    if (this.#versions.length === 0 || unknown.length > 0) throw new ConfigError(`forward protocol versions must be some of ${[...FORWARD_CODECS.keys()].join(', ')}; got ${this.#versions.join(', ') || 'none'}`);
    this.#context = {
      log: init.logger, maxFrameBytes: this.#maxFrameBytes, maxInFlight: init.maxInFlight ?? 1024, maxStrikes: init.maxStrikes ?? 3,
      onReplied: init.onReplied,
      serve: (req, signal, receivedAt) => (this.#handler === undefined
        ? Promise.reject(new PeerUnavailableError('this node does not answer forwarded queries yet'))
        : this.#handler(req, signal, receivedAt)),
      counted: (delta) => { this.#handling += delta; },
    };
  }

  #failAll(peer: string, ch: Channel, why: string): void {
    const err = new PeerUnavailableError(`neighbour ${peer}: ${why}`);
    for (const p of ch.pending.values()) p.reject(err);
    ch.pending.clear();
  }

  #openChannel(peer: string): Promise<Channel> {
    const existing = this.#channels.get(peer);
    if (existing !== undefined) return existing;
    const p: Promise<Channel> = this.#dial(peer, () => { if (this.#channels.get(peer) === p) this.#channels.delete(peer); });
    this.#channels.set(peer, p);
    p.catch(() => { if (this.#channels.get(peer) === p) this.#channels.delete(peer); });
    return p;
  }

  /** Open the outbound stream to `peer` and read its answers; `forget` drops the channel when the stream closes. */
  async #dial(peer: string, forget: () => void): Promise<Channel> {
    let stream: Stream;
    try {
      stream = await this.#libp2p.dialProtocol(peerIdFromString(peer), [...this.#versions], { signal: AbortSignal.timeout(3000) });
    } catch (e) {
      throw new PeerUnavailableError(`cannot open a forward stream to ${peer}: ${describeError(e)}`);
    }
    const codec = codecOf(stream);
    stream.inactivityTimeout = 0;
    const ch: Channel = { stream, codec, pending: new Map(), nextCorr: 1 };
    stream.addEventListener('close', (evt) => {
      forget();
      this.#failAll(peer, ch, `forward stream closed${evt.error === undefined ? '' : `: ${evt.error.message}`}`);
    });
    readFrames(stream, this.#maxFrameBytes, {
      onOversize: (err) => { stream.abort(err); },
      onFrame: (bytes) => {
        let f;
        try {
          f = codec.decodeFrame(bytes);
        } catch (e) {
          this.#log.warn({ peer, err: (e as Error).message }, 'garbage on a forward stream: closing it');
          stream.abort(e as Error);
          return;
        }
        const pend = ch.pending.get(f.corr);
        if (pend === undefined) return; // late answer to a cancelled or timed-out query
        ch.pending.delete(f.corr);
        if (f.type === FRAME_RESULT) pend.resolve(f.body);
        else if (f.type === FRAME_ERROR) pend.reject(new ForwardFailure(new RemoteError(f.body.kind, f.body.message), f.body.hops));
      },
    });
    return ch;
  }

  async send(peer: string, req: ForwardRequest, signal?: AbortSignal): Promise<ForwardResult> {
    if (!this.#running) throw new ShuttingDownError('node is shutting down');
    if (req.remainingMs <= 0) throw new DeadlineExceededError(`no time left to forward query ${req.queryId} to ${peer}`);
    const ch = await this.#openChannel(peer);
    const corr = ch.nextCorr;
    ch.nextCorr = ch.nextCorr >= 0xffffffff ? 1 : ch.nextCorr + 1;
    // The neighbour would abort the whole stream (every query on it) for a frame over the limit.
    const frame = ch.codec.encodeRequest(corr, req);
    const size = frameBytes(frame);
    if (size > this.#maxFrameBytes) throw new MessageTooLargeError(`query ${req.queryId}: a forward frame of ${size} bytes exceeds the limit of ${this.#maxFrameBytes} bytes`);
    return new Promise<ForwardResult>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const abandon = (err: Error): void => {
        if (!ch.pending.delete(corr)) return;
        cleanup();
        void sendFrame(ch.stream, ch.codec.encodeCancel(corr)).catch(() => undefined);
        reject(err);
      };
      const onAbort = (): void => { abandon(new CancelledError(`query ${req.queryId} was cancelled`)); };
      // A little slack over the budget so the remote's own deadline error wins when it can.
      const timer = setTimeout(() => { abandon(new DeadlineExceededError(`query ${req.queryId}: no answer from ${peer} within ${req.remainingMs} ms`)); }, req.remainingMs + 20);
      ch.pending.set(corr, {
        resolve: (r) => { cleanup(); resolve(r); },
        reject: (e) => { cleanup(); reject(e); },
      });
      if (signal?.aborted === true) { onAbort(); return; }
      signal?.addEventListener('abort', onAbort, { once: true });
      sendFrame(ch.stream, frame).catch((e: unknown) => {
        const p = ch.pending.get(corr);
        ch.pending.delete(corr);
        p?.reject(new PeerUnavailableError(`sending query ${req.queryId} to ${peer} failed: ${describeError(e)}`));
      });
    });
  }

  #onInbound(stream: Stream, peer: string): void {
    this.#inbound.add(stream);
    stream.addEventListener('close', () => { this.#inbound.delete(stream); });
    new InboundStream(stream, peer, codecOf(stream), this.#context); // serves the stream until it closes
  }

  readonly #onDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
    const peer = evt.detail.toString();
    const p = this.#channels.get(peer);
    if (p === undefined) return;
    this.#channels.delete(peer);
    void p.then((ch) => { this.#failAll(peer, ch, 'disconnected'); ch.stream.abort(new Error('disconnected')); }, () => undefined);
  };

  onQuery(h: ForwardHandler): () => void {
    this.#handler = h;
    return () => { if (this.#handler === h) this.#handler = undefined; };
  }

  inFlight(): number {
    return this.#handling;
  }

  async start(): Promise<void> {
    this.#running = true;
    await this.#libp2p.handle([...this.#versions], (stream, conn) => { this.#onInbound(stream, conn.remotePeer.toString()); }, { maxInboundStreams: 8 });
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect);
    await this.#libp2p.unhandle([...this.#versions]).catch(() => undefined);
    for (const [peer, p] of this.#channels) {
      void p.then((ch) => { this.#failAll(peer, ch, 'node is stopping'); ch.stream.abort(new Error('stopping')); }, () => undefined);
    }
    this.#channels.clear();
    for (const s of this.#inbound) s.abort(new Error('stopping'));
    this.#inbound.clear();
  }
}
