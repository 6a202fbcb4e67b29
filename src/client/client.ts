// PlexusClient: a typed client for one Plexus node (KServe v2 inference + plexus.v1.Plexus),
// one HTTP/2 channel shared by both services. Every call has a deadline (the client's
// timeoutMs unless the call gives one) and may be cancelled with an AbortSignal.
import * as grpc from '@grpc/grpc-js';
import { parseHostPort } from '../wire/address.ts';
import type { WireInferResponse, WireModelMetadataResponse } from '../wire/messages.ts';
import type {
  WireGetNodeResponse, WireGetRoutesResponse, WireListCapabilitiesResponse, WireListPeersResponse, WireTensorInfo,
} from '../wire/plexus-messages.ts';
import { openConnection, unary, type Connection } from './connection.ts';
import { PlexusClientError } from './errors.ts';
import { PlexusJobs } from './jobs.ts';
import { openStream, type StreamDeps } from './stream.ts';
import type {
  CallOptions, Capability, InferOptions, InferRequest, InferResult, ModelMetadata, NodeInfo, Peer, PlexusClientOptions, Route,
  SpeechResult, SpeechSegment, StreamItem, StreamOptions, TensorInfo,
} from './types.ts';
import { decodeInferResponse, encodeInferRequest } from './wire.ts';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_STREAM_TIMEOUT_MS = 300_000;

const tensorInfo = (t: WireTensorInfo): TensorInfo => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) });

export class PlexusClient {
  readonly target: string;
  readonly #connection: Connection;
  readonly #inference: grpc.Client;
  readonly #plexus: grpc.Client;
  readonly #jobs: grpc.Client;
  /** The node's durable async jobs (plexus.v1.Jobs) over this client's channel. */
  readonly jobs: PlexusJobs;
  readonly #timeoutMs: number;
  readonly #streamTimeoutMs: number;
  readonly #metadata = new Map<string, Promise<ModelMetadata>>();
  #nextId = 0;

  /** @param target the node's gRPC address, HOST:PORT (e.g. '127.0.0.1:8001') */
  constructor(target: string, options: PlexusClientOptions = {}) {
    if (!parseHostPort(target)) throw new TypeError(`PlexusClient: '${target}' is not HOST:PORT`);
    for (const key of ['timeoutMs', 'streamTimeoutMs', 'maxMessageBytes'] as const) {
      const v = options[key];
      if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new TypeError(`PlexusClient: ${key} must be a positive number`);
    }
    this.target = target;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#streamTimeoutMs = options.streamTimeoutMs ?? DEFAULT_STREAM_TIMEOUT_MS;
    this.#connection = openConnection(target, options);
    this.#inference = this.#connection.client('inference');
    this.#plexus = this.#connection.client('plexus');
    this.#jobs = this.#connection.client('jobs');
    this.jobs = new PlexusJobs(this.#jobs, this.#timeoutMs);
  }

  /** Run one query. Rejects with a PlexusClientError carrying the node's status. */
  async infer(options: InferOptions): Promise<InferResult> {
    const request = encodeInferRequest(options, options.id ?? this.#newId());
    const response = await this.#unary<WireInferResponse>(this.#inference, 'ModelInfer', request, options);
    return decodeInferResponse(response);
  }

  /**
   * Send a file's bytes as the BYTES input of a model or capability (its first input, found
   * with ModelMetadata and cached), e.g. a WAV file to speech.vad.
   */
  async inferFile(model: string, bytes: Uint8Array, options: CallOptions & Pick<InferRequest, 'constraints' | 'parameters' | 'version'> = {}): Promise<InferResult> {
    const meta = await this.modelMetadata(model, options);
    const first = meta.inputs[0];
    if (!first) throw new PlexusClientError(grpc.status.FAILED_PRECONDITION, `model '${model}' declares no inputs`);
    if (first.datatype !== 'BYTES') {
      throw new PlexusClientError(grpc.status.FAILED_PRECONDITION, `model '${model}' takes ${first.datatype} input '${first.name}', not a file (BYTES)`);
    }
    return this.infer({ ...options, model, inputs: [{ name: first.name, datatype: 'BYTES', shape: [1], data: [bytes] }] });
  }

  /** speech.vad on a WAV file: speech segments in seconds. */
  async detectSpeech(wav: Uint8Array, options: CallOptions & Pick<InferRequest, 'constraints' | 'parameters'> = {}): Promise<SpeechResult> {
    const result = await this.infer({ ...options, model: 'speech.vad', inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [wav] }] });
    const t = result.output('segments');
    if (!(t.data instanceof Float32Array)) throw new PlexusClientError(grpc.status.INTERNAL, `speech.vad answered ${t.datatype} segments; expected FP32`);
    const segments: SpeechSegment[] = [];
    for (let i = 0; i + 1 < t.data.length; i += 2) segments.push({ start: t.data[i] ?? 0, end: t.data[i + 1] ?? 0 });
    return { segments, result };
  }

  /**
   * Many queries over one ModelStreamInfer stream. Yields each answer (or that request's
   * error) as it arrives, in completion order; `index` is the request's position. Sending
   * waits while maxInFlight answers are pending or unread, so a slow reader slows the sender.
   */
  stream(requests: Iterable<InferRequest> | AsyncIterable<InferRequest>, options: StreamOptions = {}): AsyncIterableIterator<StreamItem> {
    const deps: StreamDeps = {
      client: this.#inference,
      timeoutMs: options.timeoutMs ?? this.#streamTimeoutMs,
      newId: () => this.#newId(),
    };
    return openStream(deps, requests, options);
  }

  async modelMetadata(model: string, options: CallOptions = {}): Promise<ModelMetadata> {
    let cached = this.#metadata.get(model);
    if (!cached) {
      cached = this.#unary<WireModelMetadataResponse>(
        this.#inference, 'ModelMetadata', { name: model }, options,
      ).then((m) => ({ name: m.name, versions: m.versions, platform: m.platform, inputs: m.inputs.map(tensorInfo), outputs: m.outputs.map(tensorInfo) }));
      this.#metadata.set(model, cached);
      // A failed lookup is not cached: the model may appear later.
      void cached.catch(() => this.#metadata.delete(model));
    }
    return cached;
  }

  /** Capabilities the cluster offers as seen from this node (only its own with localOnly). */
  async listCapabilities(options: CallOptions & { capability?: string; localOnly?: boolean } = {}): Promise<Capability[]> {
    const res = await this.#unary<WireListCapabilitiesResponse>(this.#plexus, 'ListCapabilities', { capability: options.capability ?? '', local_only: options.localOnly ?? false }, options);
    return res.capabilities.map((c) => ({
      name: c.name,
      providers: c.providers.map((p) => ({
        peerId: p.peer_id, model: p.model, version: p.version, provider: p.provider, price: p.price, local: p.local,
        ready: p.ready, hops: p.hops, expectedMs: p.expected_ms, nextHop: p.next_hop,
      })),
    }));
  }

  /** The node's routing table, only routes to `model` when given. */
  async routes(model?: string, options: CallOptions = {}): Promise<Route[]> {
    const res = await this.#unary<WireGetRoutesResponse>(this.#plexus, 'GetRoutes', { model: model ?? '' }, options);
    return res.routes.map((r) => ({
      origin: r.origin, model: r.model, version: r.version, capabilities: r.capabilities, nextHop: r.next_hop, hops: r.hops,
      pathLatencyMs: r.path_latency_ms, computeMs: r.compute_ms, queueWaitMs: r.queue_wait_ms, expectedMs: r.expected_ms,
      price: r.price, provider: r.provider, seqno: String(r.seqno), expiresInMs: r.expires_in_ms, local: r.local,
    }));
  }

  /** Peers the node has a libp2p connection to. */
  async peers(options: CallOptions = {}): Promise<Peer[]> {
    const res = await this.#unary<WireListPeersResponse>(this.#plexus, 'ListPeers', {}, options);
    return res.peers.map((p) => ({ peerId: p.peer_id, neighbour: p.neighbour, rttMs: p.rtt_ms, addrs: p.addrs }));
  }

  /** What the node is and hosts. */
  async node(options: CallOptions = {}): Promise<NodeInfo> {
    const n = await this.#unary<WireGetNodeResponse>(this.#plexus, 'GetNode', {}, options);
    return {
      peerId: n.peer_id, version: n.version, uptimeSeconds: n.uptime_seconds, grpcAddress: n.grpc_address,
      models: n.models.map((m) => ({
        name: m.name, version: m.version, capabilities: m.capabilities, platform: m.platform, requestedProvider: m.requested_provider,
        provider: m.provider, price: m.price, ready: m.ready, inputs: m.inputs.map(tensorInfo), outputs: m.outputs.map(tensorInfo),
      })),
      listenAddrs: n.listen_addrs, capabilities: n.capabilities, routingPolicy: n.routing_policy, routeOnly: n.route_only,
    };
  }

  /** Close the channel; calls in flight fail with CANCELLED or UNAVAILABLE. Idempotent. */
  close(): void {
    this.#connection.close();
  }

  #newId(): string {
    this.#nextId += 1;
    return `c${this.#nextId}`;
  }

  #unary<Res>(client: grpc.Client, method: string, request: object, options: CallOptions): Promise<Res> {
    return unary<Res>(client, method, request, { timeoutMs: options.timeoutMs ?? this.#timeoutMs, signal: options.signal });
  }
}
