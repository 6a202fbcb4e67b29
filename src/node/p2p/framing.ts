// Length-prefixed frames (u32 big-endian length, then payload) over a libp2p v3 message
// stream. Bytes arrive as 'message' events; a reader reassembles frames and enforces a
// size bound so a peer cannot make us buffer without limit.
import type { Stream, StreamMessageEvent } from '@libp2p/interface';
import { Uint8ArrayList } from 'uint8arraylist';
import { MessageTooLargeError } from '../../errors.ts';

export interface FrameSink {
  onFrame(frame: Uint8Array): void;
  /** A frame header announced more than maxFrameBytes: the stream is unusable. */
  onOversize(err: MessageTooLargeError): void;
}

/** Reassembles frames from arbitrary chunks; copies only when a frame spans chunks. */
class ChunkQueue {
  private chunks: Uint8Array[] = [];
  length = 0;
  push(c: Uint8Array): void {
    if (c.byteLength === 0) return;
    this.chunks.push(c);
    this.length += c.byteLength;
  }
  /** Read `n` bytes from the front (caller checked length). */
  take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.byteLength >= n) {
      const out = first.subarray(0, n);
      if (first.byteLength === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.length -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0];
      if (c === undefined) break;
      const k = Math.min(c.byteLength, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (k === c.byteLength) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.length -= n;
    return out;
  }
  peekU32(): number {
    const head = this.chunks[0];
    const b = head !== undefined && head.byteLength >= 4 ? head : this.copyFront(4);
    return ((b[0] ?? 0) * 0x1000000) + (((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0));
  }
  private copyFront(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    for (const c of this.chunks) {
      const k = Math.min(c.byteLength, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (off === n) break;
    }
    return out;
  }
}

/** Attach a frame reader to a stream; returns a detach function. */
export function readFrames(stream: Stream, maxFrameBytes: number, sink: FrameSink): () => void {
  const q = new ChunkQueue();
  let dead = false;
  const onMessage = (evt: StreamMessageEvent): void => {
    if (dead) return;
    q.push(evt.data instanceof Uint8Array ? evt.data : evt.data.subarray());
    while (q.length >= 4) {
      const len = q.peekU32();
      if (len > maxFrameBytes) {
        dead = true;
        sink.onOversize(new MessageTooLargeError(`frame of ${len} bytes exceeds the limit of ${maxFrameBytes} bytes`));
        return;
      }
      if (q.length < 4 + len) break;
      q.take(4);
      sink.onFrame(q.take(len));
      if (dead) return;
    }
  };
  stream.addEventListener('message', onMessage);
  return () => {
    dead = true;
    stream.removeEventListener('message', onMessage);
  };
}

/**
 * Below this a frame is copied into one buffer before it is sent. Noise encrypts each chunk it
 * is handed separately and TCP writes each resulting piece with its own syscall, so a frame of
 * five views costs a dozen syscalls (measured: ~0.5 ms per forwarded query on this machine);
 * a memcpy of a few KB costs about a microsecond, and the ciphertext is a new buffer anyway.
 * One Noise message holds 65519 plaintext bytes; larger frames go as a list of views.
 */
const COALESCE_MAX_BYTES = 65_519;

/**
 * Send one frame made of `parts` in ONE stream write (one muxer frame). Whole frames are handed
 * to the stream synchronously, so frames from concurrent senders never interleave.
 */
export async function sendFrame(stream: Stream, parts: readonly Uint8Array[]): Promise<void> {
  let total = 0;
  for (const p of parts) total += p.byteLength;
  let frame: Uint8Array | Uint8ArrayList<ArrayBufferLike>;
  if (4 + total <= COALESCE_MAX_BYTES) {
    const buf = new Uint8Array(4 + total);
    new DataView(buf.buffer).setUint32(0, total, false);
    let off = 4;
    for (const p of parts) { buf.set(p, off); off += p.byteLength; }
    frame = buf;
  } else {
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, total, false);
    frame = new Uint8ArrayList<ArrayBufferLike>(header);
    for (const p of parts) if (p.byteLength > 0) frame.append(p);
  }
  if (!stream.send(frame)) await stream.onDrain();
}
