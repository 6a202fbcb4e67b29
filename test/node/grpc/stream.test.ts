// ModelStreamInfer over real gRPC: several requests on one stream, answers matched by id,
// failures reported in-band without ending the stream, and a clean end once input ends.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fp32, SPEECH_TRUTH, SPEECH_WAV, startTestNode, toneWav, vadRequest, type TestNode } from './helpers.ts';

let t: TestNode;
// Fewer in flight than requests sent: the stream must pause reading and resume, not drop any.
beforeAll(async () => { t = await startTestNode({ maxStreamInFlight: 2 }); });
afterAll(async () => { await t.close(); });

interface StreamResponse {
  error_message: string;
  infer_response: { id: string; model_name: string; outputs: { name: string; shape: string[]; contents: { fp32_contents: number[] } | null }[]; raw_output_contents: Buffer[] } | null;
}

/** Opens a stream, writes every request, ends the input; resolves with all answers once the server ends it. */
function streamAll(requests: readonly unknown[], timeoutMs = 30_000): Promise<{ responses: StreamResponse[]; status: grpc.StatusObject }> {
  const fn = (t.inference as unknown as Record<string, (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, StreamResponse>>).ModelStreamInfer;
  if (!fn) throw new Error('no ModelStreamInfer');
  const stream = fn.call(t.inference, new grpc.Metadata(), { deadline: Date.now() + timeoutMs });
  const responses: StreamResponse[] = [];
  return new Promise((resolve, reject) => {
    let status: grpc.StatusObject | undefined;
    let ended = false;
    const settle = (): void => {
      if (status !== undefined && ended) resolve({ responses, status });
    };
    stream.on('data', (r: StreamResponse) => responses.push(r));
    stream.on('status', (s: grpc.StatusObject) => { status = s; settle(); });
    stream.on('end', () => { ended = true; settle(); });
    stream.on('error', reject);
    for (const r of requests) stream.write(r);
    stream.end();
  });
}

function segmentsOf(r: StreamResponse): number[] {
  const out = r.infer_response?.outputs[0];
  return out?.contents?.fp32_contents ?? [];
}

describe('ModelStreamInfer', () => {
  it('answers several requests on one stream, matched by id, with a bad one failing in-band', async () => {
    const samples = new Float32Array(512).map((_, i) => 0.3 * Math.sin(i / 5));
    const requests = [
      vadRequest(SPEECH_WAV, { id: 'speech-1' }),
      vadRequest(toneWav(1), { id: 'tone' }),
      vadRequest(Buffer.from('not a wav file'), { id: 'bad-wav' }),
      {
        id: 'raw-model', model_name: 'silero-vad',
        inputs: [
          { name: 'input', datatype: 'FP32', shape: [1, 512], contents: { fp32_contents: Array.from(samples) } },
          { name: 'state', datatype: 'FP32', shape: [2, 1, 128], contents: { fp32_contents: new Array<number>(256).fill(0) } },
          { name: 'sr', datatype: 'INT64', shape: [], contents: { int64_contents: ['16000'] } },
        ],
      },
      vadRequest(SPEECH_WAV, { id: 'unknown-model', model_name: 'no-such-model' }),
      vadRequest(SPEECH_WAV, { id: 'speech-2' }),
    ];
    const { responses, status } = await streamAll(requests);

    expect(status.code).toBe(grpc.status.OK);
    const byId = new Map(responses.map((r) => [r.infer_response?.id, r]));
    expect([...byId.keys()].sort()).toEqual(['bad-wav', 'raw-model', 'speech-1', 'speech-2', 'tone', 'unknown-model']);
    expect(responses).toHaveLength(requests.length);

    for (const id of ['speech-1', 'speech-2']) {
      const r = byId.get(id);
      expect(r?.error_message).toBe('');
      expect(r?.infer_response?.model_name).toBe('silero-vad-segments');
      const flat = segmentsOf(r as StreamResponse);
      expect(flat).toHaveLength(SPEECH_TRUTH.speech.length * 2);
      SPEECH_TRUTH.speech.flat().forEach((s, i) => expect(Math.abs((flat[i] ?? NaN) - s)).toBeLessThan(0.25));
    }
    expect(byId.get('tone')?.error_message).toBe('');
    expect(byId.get('tone')?.infer_response?.outputs[0]?.name).toBe('segments');

    const raw = byId.get('raw-model');
    expect(raw?.error_message).toBe('');
    expect(raw?.infer_response?.outputs.map((o) => o.name).sort()).toEqual(['output', 'stateN']);

    const bad = byId.get('bad-wav');
    expect(bad?.error_message).toMatch(/^INVALID_ARGUMENT: .*audio/);
    expect(bad?.infer_response?.outputs ?? []).toHaveLength(0);
    expect(byId.get('unknown-model')?.error_message).toMatch(/^NOT_FOUND: .*'no-such-model'/);
  });

  it('answers raw when the input came raw, per request', async () => {
    const lengthPrefixed = Buffer.concat([Buffer.from(new Uint32Array([SPEECH_WAV.byteLength]).buffer), SPEECH_WAV]);
    const { responses, status } = await streamAll([
      { id: 'raw', model_name: 'speech.vad', inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1] }], raw_input_contents: [lengthPrefixed] },
      vadRequest(SPEECH_WAV, { id: 'typed' }),
    ]);
    expect(status.code).toBe(grpc.status.OK);
    const byId = new Map(responses.map((r) => [r.infer_response?.id, r]));
    const raw = byId.get('raw')?.infer_response;
    expect(raw?.raw_output_contents).toHaveLength(1);
    expect(fp32(raw?.raw_output_contents[0] ?? Buffer.alloc(0))).toHaveLength(SPEECH_TRUTH.speech.length * 2);
    expect(byId.get('typed')?.infer_response?.raw_output_contents).toHaveLength(0);
  });

  it('ends cleanly with no answers when the client sends nothing', async () => {
    const { responses, status } = await streamAll([]);
    expect(responses).toEqual([]);
    expect(status.code).toBe(grpc.status.OK);
  });
});

describe('structured error details (src/wire/status.ts)', () => {
  it('a failed stream item carries its kind as plexus.error_kind; a failed call has it in trailing metadata', async () => {
    const { responses } = await streamAll([vadRequest(SPEECH_WAV, { id: 'gone', model_name: 'no-such-model' })]);
    const r = responses[0] as unknown as { error_message: string; infer_response: { id: string; parameters: Record<string, { string_param?: string }> } };
    expect(r.error_message).toMatch(/^NOT_FOUND: /);
    expect(r.infer_response.id).toBe('gone');
    expect(r.infer_response.parameters['plexus.error_kind']?.string_param).toBe('not_found');
    const fn = (t.inference as unknown as Record<string, ((req: unknown, cb: (e: grpc.ServiceError | null) => void) => void) | undefined>).ModelInfer;
    const error = await new Promise<grpc.ServiceError | null>((resolve) => { fn?.call(t.inference, vadRequest(SPEECH_WAV, { model_name: 'no-such-model' }), resolve); });
    expect(error?.code).toBe(grpc.status.NOT_FOUND);
    expect(error?.metadata.get('plexus-error-kind')).toEqual(['not_found']);
    expect(error?.metadata.get('plexus-error-name')).toEqual(['ModelNotFoundError']);
  });
});
