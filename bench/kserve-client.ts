// A plain KServe v2 gRPC client, as an outside user would write one: the public .proto,
// grpc-js and proto-loader, tensors sent as raw_input_contents (little-endian bytes).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { SILERO_INPUT_SAMPLES, sileroInput } from './models/silero.ts';

const PROTO_ROOT = fileURLToPath(new URL('../proto/', import.meta.url));

interface InferCallback { (err: grpc.ServiceError | null, res?: unknown): void }
interface InferenceStub extends grpc.Client {
  ModelInfer(req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: InferCallback): grpc.ClientUnaryCall;
}

export interface KServeClient {
  /** One ModelInfer; rejects with the gRPC error. */
  infer(request: unknown, timeoutMs?: number): Promise<unknown>;
  close(): void;
}

let ctor: grpc.ServiceClientConstructor | undefined;

function inferenceCtor(): grpc.ServiceClientConstructor {
  if (ctor) return ctor;
  const def = protoLoader.loadSync('inference/grpc_service.proto', {
    keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, arrays: true, includeDirs: [PROTO_ROOT],
  });
  const pkg = grpc.loadPackageDefinition(def)['inference'] as grpc.GrpcObject;
  ctor = pkg['GRPCInferenceService'] as grpc.ServiceClientConstructor;
  return ctor;
}

export function createKServeClient(address: string): KServeClient {
  const Ctor = inferenceCtor();
  const stub = new Ctor(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  }) as unknown as InferenceStub;
  return {
    infer(request, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        stub.ModelInfer(request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
      });
    },
    close() { stub.close(); },
  };
}

function le(buf: ArrayBufferLike, byteOffset: number, byteLength: number): Buffer {
  return Buffer.from(buf, byteOffset, byteLength);
}

/** A ModelInfer request for raw silero-vad: input [1,576] FP32, state [2,1,128] FP32, sr INT64 scalar. */
export function sileroInferRequest(model: string, parameters: Record<string, unknown> = {}): unknown {
  const input = sileroInput();
  const state = new Float32Array(2 * 128);
  const sr = BigInt64Array.from([16000n]);
  return {
    model_name: model,
    id: '',
    parameters,
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [1, SILERO_INPUT_SAMPLES] },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128] },
      { name: 'sr', datatype: 'INT64', shape: [] },
    ],
    outputs: [],
    raw_input_contents: [
      le(input.buffer, input.byteOffset, input.byteLength),
      le(state.buffer, state.byteOffset, state.byteLength),
      le(sr.buffer, sr.byteOffset, sr.byteLength),
    ],
  };
}

/** A ModelInfer request for the bench MLP: x [1,inputs] FP32. */
export function mlpInferRequest(model: string, inputs: number): unknown {
  const x = new Float32Array(inputs).fill(0.25);
  return {
    model_name: model, id: '', parameters: {},
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, inputs] }],
    outputs: [],
    raw_input_contents: [le(x.buffer, x.byteOffset, x.byteLength)],
  };
}
