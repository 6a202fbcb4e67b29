// Shared by the client tests: one real node with libp2p on (so it routes and answers with
// plexus.served_by/route/cost/hop_ms), hosting the raw Silero VAD, its speech.vad adapter
// (price 2) and a slow copy of the raw model (an injected 400 ms delay) for deadline tests.
import { rawVadModel, startClusterNode, type ClusterNode } from '../cluster/helpers.ts';
import type { InputTensor } from '../../src/client/index.ts';

export const SPEECH_PRICE = 2;

export function startClientTestNode(): Promise<ClusterNode> {
  return startClusterNode({
    models: [
      rawVadModel(),
      { name: 'silero-vad-segments', adapter: { type: 'silero-vad', model: 'silero-vad' }, capabilities: ['speech.vad'], price: SPEECH_PRICE },
      { ...rawVadModel({ delayMs: 400 }), name: 'slow-vad', capabilities: ['speech.vad.slow'] },
    ],
  });
}

/** One raw silero-vad window: 512 samples of a tone, zero state, 16 kHz. */
export function rawVadInputs(amplitude = 0.3): InputTensor[] {
  return [
    { name: 'input', datatype: 'FP32', shape: [1, 512], data: new Float32Array(512).map((_, i) => amplitude * Math.sin(i / 5)) },
    { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Float32Array(2 * 128) },
    { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array([16000n]) },
  ];
}
