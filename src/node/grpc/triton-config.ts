// ModelConfig and ModelStatistics of inference.GRPCInferenceService (Triton's messages, see
// proto/inference/model_config.proto and grpc_service.proto), merged into its handlers. The
// content is built in src/node/triton-model.ts, shared with REST.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../logger.ts';
import { modelConfigFor, modelStatisticsFor, type TritonView } from '../triton-model.ts';
import { toServiceError } from '../../wire/status.ts';

interface WireModelRequest {
  readonly name: string;
  readonly version: string;
}

type Unary = (call: grpc.ServerUnaryCall<WireModelRequest, object>, cb: grpc.sendUnaryData<object>) => void;

export function createTritonConfigHandlers(deps: { readonly view: TritonView; readonly logger: Logger }): grpc.UntypedServiceImplementation {
  const { view, logger } = deps;
  const answer = (rpc: string, call: Parameters<Unary>[0], cb: Parameters<Unary>[1], build: () => object): void => {
    let reply: object;
    try {
      reply = build();
    } catch (e) {
      logger.debug({ err: e, rpc, model: call.request.name }, 'model info call failed');
      cb(toServiceError(e));
      return;
    }
    cb(null, reply);
  };
  const config: Unary = (call, cb) => {
    answer('ModelConfig', call, cb, () => ({ config: modelConfigFor(view, call.request.name, call.request.version) }));
  };
  const statistics: Unary = (call, cb) => {
    answer('ModelStatistics', call, cb, () => ({ model_stats: modelStatisticsFor(view, call.request.name, call.request.version) }));
  };
  return { ModelConfig: config, ModelStatistics: statistics };
}
