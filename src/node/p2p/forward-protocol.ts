// /plexus/forward/1.0.0: one long-lived outbound stream per neighbour, reused for every
// query; many in-flight queries are multiplexed by a correlation id. Responses come back on
// the same stream. A stream that dies fails its in-flight queries at once.
import type { Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { CancelledError, DeadlineExceededError, MessageTooLargeError, PeerUnavailableError, RemoteError, ShuttingDownError, isPlexusError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import {
  decodeFrame, encodeCancel, encodeError, encodeRequest, encodeResult, FRAME_CANCEL, FRAME_ERROR, FRAME_REQUEST, FRAME_RESULT,
} from './forward-codec.ts';
import type { ForwardRequest, ForwardResult, HopTiming } from './forward-codec.ts';
import { readFrames, sendFrame } from './framing.ts';
import type { P2PHost } from './host.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, forwardFrameBytes } from '../node-defaults.ts';

export const FORWARD_PROTOCOL = '/plexus/forward/1.0.0';

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
}

/** Failure of a forwarded query, with the timings of the hops that answered. */
export class ForwardFailure extends RemoteError {
  readonly hops: readonly HopTiming[];
  constructor(err: RemoteError, hops: readonly HopTiming[]) {
    super(err.kind, err.message);
    this.hops = hops;
  }
}

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

/** Some libp2p failures (aborted dials) carry no message: name them rather than print 'undefined'. */
function describeError(e: unknown): string {
  if (e instanceof Error) {
    const m: unknown = e.message;
    return typeof m === 'string' && m !== '' ? m : e.name;
  }
  return String(e);
}

function frameBytes(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  return n;
}

interface Pending {
  resolve(r: ForwardResult): void;
  reject(e: Error): void;
}

interface Channel {
  stream: Stream;
  pending: Map<number, Pending>;
  nextCorr: number;
}

export function createForwardProtocol(init: ForwardProtocolInit): ForwardProtocol {
  const { host, logger: log } = init;
  const libp2p = host.libp2p;
  const maxFrameBytes = init.maxFrameBytes ?? forwardFrameBytes(DEFAULT_MAX_MESSAGE_BYTES);
  const maxInFlight = init.maxInFlight ?? 1024;
  const maxStrikes = init.maxStrikes ?? 3;
  const channels = new Map<string, Promise<Channel>>();
  const inbound = new Set<Stream>();
  let running = false;
  let handling = 0;
  let handler: ForwardHandler | undefined;
  const serve: ForwardHandler = (req, signal, receivedAt) =>
    (handler === undefined ? Promise.reject(new PeerUnavailableError('this node does not answer forwarded queries yet')) : handler(req, signal, receivedAt));

  /** An answer too large for a frame goes back as RESOURCE_EXHAUSTED rather than breaking the stream. */
  function resultFrame(corr: number, res: ForwardResult): Uint8Array[] {
    const parts = encodeResult(corr, res);
    const size = frameBytes(parts);
    if (size <= maxFrameBytes) return parts;
    return encodeError(corr, { kind: 'resource_exhausted', message: `the answer's forward frame of ${size} bytes exceeds the limit of ${maxFrameBytes} bytes`, hops: res.hops });
  }

  function failAll(peer: string, ch: Channel, why: string): void {
    const err = new PeerUnavailableError(`neighbour ${peer}: ${why}`);
    for (const p of ch.pending.values()) p.reject(err);
    ch.pending.clear();
  }

  function openChannel(peer: string): Promise<Channel> {
    const existing = channels.get(peer);
    if (existing !== undefined) return existing;
    const p = (async (): Promise<Channel> => {
      let stream: Stream;
      try {
        stream = await libp2p.dialProtocol(peerIdFromString(peer), FORWARD_PROTOCOL, { signal: AbortSignal.timeout(3000) });
      } catch (e) {
        throw new PeerUnavailableError(`cannot open a forward stream to ${peer}: ${describeError(e)}`);
      }
      stream.inactivityTimeout = 0;
      const ch: Channel = { stream, pending: new Map(), nextCorr: 1 };
      const drop = (why: string): void => {
        if (channels.get(peer) === p) channels.delete(peer);
        failAll(peer, ch, why);
      };
      stream.addEventListener('close', (evt) => { drop(`forward stream closed${evt.error === undefined ? '' : `: ${evt.error.message}`}`); });
      readFrames(stream, maxFrameBytes, {
        onOversize: (err) => { stream.abort(err); },
        onFrame: (bytes) => {
          let f;
          try {
            f = decodeFrame(bytes);
          } catch (e) {
            log.warn({ peer, err: (e as Error).message }, 'garbage on a forward stream: closing it');
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
    })();
    channels.set(peer, p);
    p.catch(() => { if (channels.get(peer) === p) channels.delete(peer); });
    return p;
  }

  async function send(peer: string, req: ForwardRequest, signal?: AbortSignal): Promise<ForwardResult> {
    if (!running) throw new ShuttingDownError('node is shutting down');
    if (req.remainingMs <= 0) throw new DeadlineExceededError(`no time left to forward query ${req.queryId} to ${peer}`);
    const ch = await openChannel(peer);
    const corr = ch.nextCorr;
    ch.nextCorr = ch.nextCorr >= 0xffffffff ? 1 : ch.nextCorr + 1;
    // The neighbour would abort the whole stream (every query on it) for a frame over the limit.
    const frame = encodeRequest(corr, req);
    const size = frameBytes(frame);
    if (size > maxFrameBytes) throw new MessageTooLargeError(`query ${req.queryId}: a forward frame of ${size} bytes exceeds the limit of ${maxFrameBytes} bytes`);
    return new Promise<ForwardResult>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const abandon = (err: Error): void => {
        if (!ch.pending.delete(corr)) return;
        cleanup();
        void sendFrame(ch.stream, encodeCancel(corr)).catch(() => undefined);
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

  function onInbound(stream: Stream, peer: string): void {
    stream.inactivityTimeout = 0;
    inbound.add(stream);
    const running = new Map<number, AbortController>();
    let strikes = 0;
    const reply = (parts: Uint8Array[]): void => {
      if (stream.status === 'open') void sendFrame(stream, parts).catch(() => undefined);
    };
    stream.addEventListener('close', () => {
      inbound.delete(stream);
      for (const c of running.values()) c.abort(new PeerUnavailableError(`upstream ${peer} went away`));
      running.clear();
    });
    readFrames(stream, maxFrameBytes, {
      onOversize: (err) => {
        log.warn({ peer, err: err.message }, 'oversized forward frame: closing the stream');
        stream.abort(err);
      },
      onFrame: (bytes) => {
        const receivedAt = init.onReplied === undefined ? undefined : performance.now();
        let f;
        try {
          f = decodeFrame(bytes);
        } catch (e) {
          strikes++;
          log.warn({ peer, strikes, err: (e as Error).message }, 'bad forward frame');
          if (bytes.byteLength >= 5) {
            const corr = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, false);
            reply(encodeError(corr, { kind: 'invalid_argument', message: (e as Error).message, hops: [] }));
          }
          if (strikes >= maxStrikes) stream.abort(new Error('too many bad frames'));
          return;
        }
        if (f.type === FRAME_CANCEL) {
          running.get(f.corr)?.abort(new CancelledError('cancelled by the upstream hop'));
          running.delete(f.corr);
          return;
        }
        if (f.type !== FRAME_REQUEST) return;
        const corr = f.corr;
        if (running.size >= maxInFlight) {
          reply(encodeError(corr, { kind: 'resource_exhausted', message: `more than ${maxInFlight} queries in flight on one stream`, hops: [] }));
          return;
        }
        const ctl = new AbortController();
        running.set(corr, ctl);
        handling++;
        const body = f.body;
        const replied = init.onReplied;
        serve(body, ctl.signal, receivedAt).finally(() => { handling--; }).then(
          (res) => {
            const at = replied && performance.now();
            const sent = running.delete(corr);
            if (sent) reply(resultFrame(corr, res));
            replied?.(body, sent ? at : undefined);
          },
          (err: unknown) => {
            const at = replied && performance.now();
            const sent = running.delete(corr);
            if (sent) {
              const hops = err instanceof ForwardFailure ? err.hops : [];
              const kind = isPlexusError(err) ? err.kind : 'internal';
              reply(encodeError(corr, { kind, message: (err as Error).message, hops }));
            }
            replied?.(body, sent ? at : undefined, err);
          },
        );
      },
    });
  }

  const onDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
    const peer = evt.detail.toString();
    const p = channels.get(peer);
    if (p === undefined) return;
    channels.delete(peer);
    void p.then((ch) => { failAll(peer, ch, 'disconnected'); ch.stream.abort(new Error('disconnected')); }, () => undefined);
  };

  return {
    send,
    onQuery(h) {
      handler = h;
      return () => { if (handler === h) handler = undefined; };
    },
    inFlight: () => handling,
    async start() {
      running = true;
      await libp2p.handle(FORWARD_PROTOCOL, (stream, conn) => { onInbound(stream, conn.remotePeer.toString()); }, { maxInboundStreams: 8 });
      libp2p.addEventListener('peer:disconnect', onDisconnect);
    },
    async stop() {
      running = false;
      libp2p.removeEventListener('peer:disconnect', onDisconnect);
      await libp2p.unhandle(FORWARD_PROTOCOL).catch(() => undefined);
      for (const [peer, p] of channels) {
        void p.then((ch) => { failAll(peer, ch, 'node is stopping'); ch.stream.abort(new Error('stopping')); }, () => undefined);
      }
      channels.clear();
      for (const s of inbound) s.abort(new Error('stopping'));
      inbound.clear();
    },
  };
}
