// Sealing to a peer's key: the X25519 key derived from a libp2p Ed25519 peer id agrees with the
// one derived from its private key; a sealed payload opens only with that key, unaltered.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.ts';
import type { Tensor } from '../../../src/inference/types.ts';
import { decodeFrame, encodeRequest, FRAME_REQUEST } from '../../../src/node/p2p/forward-codec.ts';
import { openSealed, openWith, packTensors, sealRequested, sealTo, sealWith, unpackTensors } from '../../../src/node/verify/seal.ts';

const inputs: Tensor[] = [
  { name: 'input', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([0.25, -1, 3.5, 7]) },
  { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array([16000n]) },
  { name: 'audio', datatype: 'BYTES', shape: [1], data: [new TextEncoder().encode('RIFF....WAVE')] },
];

const flat = (t: readonly Tensor[]): unknown => t.map((x) => ({ ...x, data: Array.isArray(x.data) ? x.data.map((b) => [...b]) : [...(x.data as Float32Array)] }));

describe('sealed payloads', () => {
  it('round trip: the provider opens what the entry sealed to its peer id, and the answer comes back sealed', async () => {
    const key = await generateKeyPair('Ed25519');
    const id = peerIdFromPrivateKey(key).toString();
    const { sealed, secret } = sealTo(id, inputs);
    expect(Buffer.from(sealed.bytes).includes(Buffer.from('RIFF....WAVE'))).toBe(false);
    const opened = openSealed(key, sealed);
    expect(flat(opened.inputs)).toEqual(flat(inputs));
    expect(opened.secret.equals(secret)).toBe(true);
    const back = sealWith(opened.secret, inputs.slice(0, 1));
    expect(flat(openWith(secret, back))).toEqual(flat(inputs.slice(0, 1)));
  });

  it('another key cannot open it, and an altered byte is refused', async () => {
    const key = await generateKeyPair('Ed25519');
    const { sealed } = sealTo(peerIdFromPrivateKey(key).toString(), inputs);
    expect(() => openSealed(key, sealed)).not.toThrow();
    await generateKeyPair('Ed25519').then((other) => { expect(() => openSealed(other, sealed)).toThrow(ProtocolError); });
    const bytes = Uint8Array.from(sealed.bytes);
    bytes[3] = (bytes[3] ?? 0) ^ 1;
    expect(() => openSealed(key, { ...sealed, bytes })).toThrow(/cannot be opened/);
  });

  it('travels in a forward frame as opaque bytes (no tensors decoded on the way)', async () => {
    const key = await generateKeyPair('Ed25519');
    const { sealed } = sealTo(peerIdFromPrivateKey(key).toString(), inputs);
    const frame = Buffer.concat(encodeRequest(3, { queryId: 'q', ttl: 4, remainingMs: 1000, route: ['a'], origin: 'b', model: 'm', outputs: [], parameters: {}, inputs: [], sealed }));
    const f = decodeFrame(frame);
    expect(f.type).toBe(FRAME_REQUEST);
    if (f.type === FRAME_REQUEST) {
      expect(f.body.inputs).toEqual([]);
      expect(flat(openSealed(key, f.body.sealed ?? sealed).inputs)).toEqual(flat(inputs));
    }
  });

  it('pack/unpack keeps names, types and shapes; plexus.seal is validated', () => {
    expect(flat(unpackTensors(packTensors(inputs)))).toEqual(flat(inputs));
    expect(() => unpackTensors(new Uint8Array([0, 0, 0, 9, 1]))).toThrow(ProtocolError);
    expect(sealRequested({ 'plexus.seal': 'true' })).toBe(true);
    expect(sealRequested({})).toBe(false);
    expect(() => sealRequested({ 'plexus.seal': 'please' })).toThrow(/plexus.seal/);
  });
});
