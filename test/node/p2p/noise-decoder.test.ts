// Noise's length decoder without a fresh RangeError per read: the same lengths as the library's,
// the same "need more" signal to the library's own decoder loop, and set on the connections of
// real hosts (which still carry messages split and joined at any byte).
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { LengthPrefixedDecoder } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import type { Stream } from '@libp2p/interface';
import { Uint8ArrayList } from 'uint8arraylist';
import { quietLengthDecoder, readLength } from '../../../src/node/p2p/noise-decoder.ts';
import { createHost, type P2PHost } from '../../../src/node/p2p/host.ts';
import { silentLogger } from '../../../src/logger.ts';

/** Noise's framing: a 2-byte big-endian length, then the message. */
function framed(messages: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(messages.flatMap((m) => [Buffer.from([m.byteLength >> 8, m.byteLength & 0xff]), m]));
}

describe('readLength', () => {
  it('reads a length from an array or a list, and throws a RangeError when fewer than 2 bytes are left', () => {
    expect(readLength(Uint8Array.of(0x0d, 0x54, 9))).toBe(3412);
    expect(readLength(new Uint8ArrayList(Uint8Array.of(0xff), Uint8Array.of(0xef)))).toBe(65519);
    expect(() => readLength(Uint8Array.of(1))).toThrow(RangeError);
    expect(() => readLength(new Uint8ArrayList())).toThrow(RangeError);
  });

  it('drives the library decoder to the same messages from reads cut at every byte', () => {
    const messages = [new Uint8Array(300).fill(1), new Uint8Array(0), new Uint8Array(70).fill(2), new Uint8Array(5).fill(3)];
    const wire = framed(messages);
    for (let cut = 1; cut < wire.byteLength; cut += 7) {
      const d = new LengthPrefixedDecoder({ lengthDecoder: readLength, maxBufferSize: 1 << 20, encodingLength: () => 2 });
      const got = [...d.decode(wire.subarray(0, cut)), ...d.decode(wire.subarray(cut))].map((b) => Uint8Array.from(b.subarray()));
      expect(got).toEqual(messages.filter((m) => m.byteLength > 0)); // the library skips empty messages
    }
  });

  it('leaves a connection of another shape alone', () => {
    expect(quietLengthDecoder({})).toBe(false);
    expect(quietLengthDecoder({ decoder: {} })).toBe(false);
    expect(quietLengthDecoder(null)).toBe(false);
  });
});

describe('a libp2p host with the quiet length decoder', () => {
  const hosts: P2PHost[] = [];
  afterEach(async () => { await Promise.all(hosts.splice(0).map((h) => h.stop().catch(() => undefined))); });

  it('sets it on both ends of a connection, which carries 200 KB of messages whole', async () => {
    const start = async (): Promise<P2PHost> => {
      const h = await createHost({ privateKey: await generateKeyPair('Ed25519'), logger: silentLogger(), listen: ['/ip4/127.0.0.1/tcp/0'] });
      hosts.push(h);
      await h.start();
      return h;
    };
    const a = await start();
    const b = await start();
    const sent = Array.from({ length: 60 }, (_, i) => new Uint8Array(3412).fill(i));
    const total = sent.reduce((n, m) => n + m.byteLength, 0);
    const got = new Uint8ArrayList();
    const arrived = new Promise<void>((resolve) => {
      void a.libp2p.handle('/plexus/test-sink/1.0.0', (s: Stream) => {
        s.addEventListener('message', (e) => { got.append(e.data); if (got.byteLength >= total) resolve(); });
      });
    });
    const s = await b.libp2p.dialProtocol(multiaddr(a.multiaddrs()[0] ?? ''), '/plexus/test-sink/1.0.0', { signal: AbortSignal.timeout(5000) });
    for (const m of sent) s.send(m);
    await arrived;
    expect(Buffer.from(got.subarray()).equals(Buffer.concat(sent))).toBe(true);
    const decoders = [a, b].map((h) => (h.libp2p.getConnections()[0] as unknown as { muxer: { maConn: { decoder: { lengthDecoder: unknown } } } }).muxer.maConn.decoder.lengthDecoder);
    expect(decoders).toEqual([readLength, readLength]);
    await s.close();
  });
});
