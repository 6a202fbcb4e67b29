// Handlers of inference.GRPCInferenceService (KServe v2). Inference goes ONLY through the
// QueryDispatcher; metadata comes from the ModelCatalog.
import * as grpc from '@grpc/grpc-js';
import { InvalidInputError, ModelNotFoundError, ShuttingDownError } from '../../errors.ts';
import type { ModelInfo, TensorSpec } from '../../inference/types.ts';
import type { Logger } from '../../logger.ts';
import type { ModelCatalog, QueryDispatcher } from '../dispatch.ts';
import { withinInputBudget, type InputBudget } from '../input-limits.ts';
import type { QueryTracer } from '../tracing/node-tracing.ts';
import { firstHeaderValue, TRACEPARENT } from '../tracing/traceparent.ts';
import { abortOnCancel, callContext } from './call-context.ts';
import { principalOf } from '../auth/callers.ts';
import { withTenant } from '../auth/tenant-dispatch.ts';
import { decodeInferRequest, encodeInferResponse } from './codec.ts';
import type {
  WireInferRequest, WireInferResponse, WireModelMetadataResponse, WireModelRef, WireStreamInferResponse, WireTensorMetadata,
} from '../../wire/messages.ts';
import { streamErrorResponse, toServiceError } from '../../wire/status.ts';

export const SERVER_NAME = 'plexus';
export const SERVER_EXTENSIONS: readonly string[] = ['binary_tensor_data', 'parameters', 'model_repository', 'model_repository(unload_dependents)', 'model_configuration', 'statistics'];

export interface KServeDeps {
  readonly dispatcher: QueryDispatcher;
  readonly catalog: ModelCatalog;
  readonly logger: Logger;
  readonly version: string;
  /** Bound on requests one ModelStreamInfer stream may have running; reading pauses beyond it. */
  readonly maxStreamInFlight: number;
  /** Tracing (--otlp-endpoint); absent when off. */
  readonly tracing?: QueryTracer;
  /** Node-wide budget for the inputs of unanswered requests; absent = unbounded. */
  readonly inputBudget?: InputBudget;
}

export interface KServeService {
  readonly handlers: grpc.UntypedServiceImplementation;
  /** Refuse new work; open streams end once their in-flight requests are answered. */
  drain(): void;
}

type Stream = grpc.ServerDuplexStream<WireInferRequest, WireStreamInferResponse>;

export function createKServeService(deps: KServeDeps): KServeService {
  return new KServeCore(deps);
}

type CallWithMetadata = Parameters<typeof callContext>[0] & { readonly metadata: grpc.Metadata };

class KServeCore implements KServeService {
  readonly handlers: grpc.UntypedServiceImplementation;
  readonly #deps: KServeDeps;
  #draining = false;
  readonly #streamsToEnd = new Set<() => void>();

  constructor(deps: KServeDeps) {
    this.#deps = deps;
    this.handlers = { ...this.#healthHandlers(), ...this.#inferHandlers() };
  }

  drain(): void {
    this.#draining = true;
    for (const end of [...this.#streamsToEnd]) end();
  }

  async #runInfer(msg: WireInferRequest, call: CallWithMetadata, signal: AbortSignal): Promise<WireInferResponse> {
    const deps = this.#deps;
    if (this.#draining) throw new ShuttingDownError('the node is shutting down and accepts no new queries');
    if (msg.rejected !== undefined) throw msg.rejected;
    const span = deps.tracing?.startQuery('grpc', firstHeaderValue(call.metadata.get(TRACEPARENT)));
    try {
      const { request, rawOutputs } = withTenant(decodeInferRequest(msg, callContext(call, signal)), principalOf(call));
      const started = performance.now();
      const result = await withinInputBudget(deps.inputBudget, request.inputs, () => deps.dispatcher.infer(span === undefined ? request : span.decoded(request)));
      deps.logger.debug({ queryId: request.id, tenant: request.tenant, model: result.model, ms: performance.now() - started }, 'query answered');
      const encode = (r: typeof result): WireInferResponse => encodeInferResponse(r, { raw: rawOutputs, id: msg.id });
      return span === undefined ? encode(result) : span.finish(result, encode);
    } catch (e) {
      span?.fail(e);
      throw e;
    }
  }

  #modelStream(call: Stream): void {
    const { logger, maxStreamInFlight } = this.#deps;
    const { signal } = abortOnCancel(call);
    let inFlight = 0;
    let inputEnded = false;
    let finished = false;
    const maybeEnd = (): void => {
      if (finished || inFlight > 0 || !(inputEnded || this.#draining)) return;
      finished = true;
      this.#streamsToEnd.delete(maybeEnd);
      if (!call.cancelled) call.end();
    };
    this.#streamsToEnd.add(maybeEnd);
    call.on('cancelled', () => { finished = true; this.#streamsToEnd.delete(maybeEnd); });
    call.on('error', (e) => logger.debug({ err: e }, 'ModelStreamInfer stream error'));
    call.on('end', () => { inputEnded = true; maybeEnd(); });
    call.on('data', (msg: WireInferRequest) => {
      inFlight++;
      if (inFlight >= maxStreamInFlight) call.pause();
      this.#runInfer(msg, call, signal).then(
        (infer_response) => ({ error_message: '', infer_response }),
        (error: unknown) => {
          logger.debug({ err: error, model: msg.model_name, id: msg.id }, 'stream query failed');
          // Triton keeps the stream open and reports the failure in-band; echo id for matching.
          return streamErrorResponse(error, msg);
        },
      ).then((response) => {
        if (!finished && !call.cancelled) call.write(response);
      }).finally(() => {
        inFlight--;
        if (call.isPaused() && inFlight < maxStreamInFlight) call.resume();
        maybeEnd();
      }).catch((e: unknown) => logger.error({ err: e }, 'ModelStreamInfer bookkeeping failed'));
    });
  }

  /** Liveness, readiness and metadata. */
  #healthHandlers(): grpc.UntypedServiceImplementation {
    const { catalog, version } = this.#deps;
    return {
      ServerLive(_call: grpc.ServerUnaryCall<object, object>, cb: grpc.sendUnaryData<object>) {
        cb(null, { live: true });
      },
      ServerReady: (_call: grpc.ServerUnaryCall<object, object>, cb: grpc.sendUnaryData<object>) => {
        cb(null, { ready: !this.#draining && catalog.list().every((m) => m.ready) });
      },
      ServerMetadata(_call: grpc.ServerUnaryCall<object, object>, cb: grpc.sendUnaryData<object>) {
        cb(null, { name: SERVER_NAME, version, extensions: [...SERVER_EXTENSIONS] });
      },
      ModelReady: (call: grpc.ServerUnaryCall<WireModelRef, object>, cb: grpc.sendUnaryData<object>) => {
        // Like Triton: an unknown model is simply not ready; only a missing name is an error.
        if (!call.request.name) {
          cb(toServiceError(new InvalidInputError('model name is required')));
          return;
        }
        const model = catalog.resolve(call.request.name, call.request.version || undefined);
        cb(null, { ready: !this.#draining && model?.ready === true });
      },
      ModelMetadata(call: grpc.ServerUnaryCall<WireModelRef, WireModelMetadataResponse>, cb: grpc.sendUnaryData<WireModelMetadataResponse>) {
        try {
          cb(null, modelMetadata(findModel(catalog, call.request)));
        } catch (e) {
          cb(toServiceError(e));
        }
      },
    };
  }

  /** ModelInfer and ModelStreamInfer. */
  #inferHandlers(): grpc.UntypedServiceImplementation {
    const { logger } = this.#deps;
    return {
      ModelInfer: (call: grpc.ServerUnaryCall<WireInferRequest, WireInferResponse>, cb: grpc.sendUnaryData<WireInferResponse>) => {
        const cancel = abortOnCancel(call);
        this.#runInfer(call.request, call, cancel.signal).then(
          (response) => { cancel.release(); cb(null, response); },
          (error: unknown) => {
            cancel.release();
            logger.debug({ err: error, model: call.request.model_name, id: call.request.id }, 'query failed');
            cb(toServiceError(error));
          },
        );
      },
      ModelStreamInfer: (call: Stream) => { this.#modelStream(call); },
    };
  }
}

function findModel(catalog: ModelCatalog, ref: WireModelRef): ModelInfo {
  if (!ref.name) throw new InvalidInputError('model name is required');
  const model = catalog.resolve(ref.name, ref.version || undefined);
  if (!model) {
    throw new ModelNotFoundError(ref.name, ref.version
      ? `model or capability '${ref.name}' version '${ref.version}' is not served here`
      : undefined);
  }
  return model;
}

/** KServe v2 model metadata, the same for gRPC and REST (JSON). */
export function modelMetadata(m: ModelInfo): WireModelMetadataResponse {
  return {
    name: m.name,
    versions: [m.version],
    platform: m.platform,
    inputs: m.inputs.map(tensorMetadata),
    outputs: m.outputs.map(tensorMetadata),
  };
}

export function tensorMetadata(t: TensorSpec): WireTensorMetadata {
  return { name: t.name, datatype: t.datatype, shape: [...t.shape] };
}
