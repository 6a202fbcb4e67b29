// A unary gRPC caller that sends bytes already serialized and does not decode the answer: the
// load generator then costs the same for every server it drives (a bare echo, a Plexus node),
// so CPU and throughput compare like with like. The request bytes of a silero-vad ModelInfer
// come from the public .proto through proto-loader, as any KServe client would produce them.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { sileroInferRequest } from './kserve-client.ts';

const PROTO_ROOT = fileURLToPath(new URL('../proto/', import.meta.url));
export const MODEL_INFER_PATH = '/inference.GRPCInferenceService/ModelInfer';
const passthrough = (b: Buffer): Buffer => b;

interface MethodDef { requestSerialize(v: unknown): Buffer; responseDeserialize(b: Buffer): unknown }

function modelInferDef(): MethodDef {
  const def = protoLoader.loadSync('inference/grpc_service.proto', {
    keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, arrays: true, includeDirs: [PROTO_ROOT],
  });
  const service = def['inference.GRPCInferenceService'] as unknown as Record<string, MethodDef>;
  const method = service['ModelInfer'];
  if (method === undefined) throw new Error('ModelInfer not in the KServe proto');
  return method;
}

/** The serialized ModelInfer request of one raw silero-vad window. */
export function sileroRequestBytes(model: string): Buffer {
  return modelInferDef().requestSerialize(sileroInferRequest(model));
}

/** Decodes a ModelInfer answer (to check one before a timed run). */
export function decodeInferResponse(bytes: Buffer): unknown {
  return modelInferDef().responseDeserialize(bytes);
}

export interface RawCaller {
  /** One call; resolves with the answer's bytes, rejects with the gRPC error. */
  call(): Promise<Buffer>;
  close(): void;
}

export function rawCaller(address: string, path: string, payload: Buffer, timeoutMs = 30_000): RawCaller {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return {
    call: () => new Promise((resolve, reject) => {
      client.makeUnaryRequest(path, passthrough, passthrough, payload, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err !== null) reject(err);
        else if (res === undefined) reject(new Error('empty answer'));
        else resolve(res);
      });
    }),
    close: () => { client.close(); },
  };
}
