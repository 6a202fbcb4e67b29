// The client's public shapes: camelCase, numbers as numbers, tensors as typed arrays.
import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import type { DataType, ExecutionProvider, Tensor, TensorData } from '../wire/types.ts';
import type { ClientTls } from './auth.ts';
import type { PlexusClientError } from './errors.ts';

export type { DataType, Tensor, TensorData };

export interface PlexusClientOptions {
  /** Deadline of each call that gives none, ms. Default 30000. */
  readonly timeoutMs?: number;
  /** Deadline of a whole stream() call, ms. Default 300000. */
  readonly streamTimeoutMs?: number;
  /** Largest message sent or received. Default 64 MiB (the node's default limit). */
  readonly maxMessageBytes?: number;
  /** Default insecure (plain TCP), or TLS from `tls`; overrides `tls` when given. */
  readonly credentials?: ChannelCredentials;
  /** TLS to a node started with --tls-cert (ca), mutual TLS with --tls-client-ca (cert, key). */
  readonly tls?: ClientTls;
  /** Bearer token for a node started with --tokens (sent as `authorization: Bearer <token>`). */
  readonly token?: string;
  readonly channelOptions?: ChannelOptions;
}

/**
 * An input. `data` is the typed array the datatype stores (see TensorData), or plain values:
 * numbers (bigints too for 64-bit integers), booleans for BOOL, strings or bytes for BYTES.
 */
export interface InputTensor {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: readonly number[];
  readonly data: TensorData | readonly number[] | readonly bigint[] | readonly boolean[] | readonly (string | Uint8Array)[];
}

/** The routing constraints a query may carry (sent as plexus.* request parameters). */
export interface QueryConstraints {
  /** plexus.deadline_ms: the routing budget; the call's own deadline also applies. */
  readonly deadlineMs?: number;
  /** plexus.max_cost: highest price per call accepted. */
  readonly maxCost?: number;
  /** plexus.prefer */
  readonly prefer?: 'latency' | 'cost' | 'balanced';
  /** plexus.max_hops: 0 = only the node the client talks to. */
  readonly maxHops?: number;
  /** plexus.peer: only this provider (libp2p peer id). */
  readonly peer?: string;
  /** plexus.provider: only models running on this execution provider. */
  readonly provider?: ExecutionProvider;
  /** plexus.hedge_ms: send a second copy after this long without an answer. */
  readonly hedgeMs?: number;
}

export interface CallOptions {
  /** Deadline of this call, ms; the client's timeoutMs otherwise. */
  readonly timeoutMs?: number;
  /** Aborting cancels the call; it rejects with a CANCELLED PlexusClientError. */
  readonly signal?: AbortSignal;
}

export interface InferRequest {
  /** A model ('silero-vad') or capability ('speech.vad') name. */
  readonly model: string;
  readonly version?: string;
  /** Echoed back in the result; stream() assigns one when absent. */
  readonly id?: string;
  readonly inputs: readonly InputTensor[];
  /** Only these outputs (all when absent). */
  readonly outputs?: readonly string[];
  readonly constraints?: QueryConstraints;
  /** Extra request parameters, passed as they are. */
  readonly parameters?: Readonly<Record<string, string | number | boolean>>;
}

export interface InferOptions extends InferRequest, CallOptions {}

/** How the cluster answered: present when the node routes (libp2p on). */
export interface RouteInfo {
  /** Peer id of the provider that ran the model. */
  readonly servedBy: string;
  /** Peer ids from the node the client talks to up to the provider. */
  readonly route: readonly string[];
  /** The provider's price for this call. */
  readonly cost: number;
  /** For each node on the route, the ms the query spent there and beyond. */
  readonly hopMs: readonly number[];
  /** Peer id of the node whose independent run confirmed the answer (plexus.verified_by), when it was cross-checked. */
  readonly verifiedBy?: string;
}

export interface InferResult {
  readonly model: string;
  readonly version: string;
  readonly id: string;
  readonly outputs: readonly Tensor[];
  /** Response parameters as sent (plexus.served_by, ...). */
  readonly parameters: Readonly<Record<string, string | number | boolean>>;
  readonly route?: RouteInfo;
  /** The query's trace id (plexus.trace_id), when the node traces. */
  readonly traceId?: string;
  /** The output called `name`; throws when the response has none by that name. */
  output(name: string): Tensor;
}

export interface SpeechSegment {
  /** Seconds from the start of the audio. */
  readonly start: number;
  readonly end: number;
}

export interface SpeechResult {
  readonly segments: readonly SpeechSegment[];
  readonly result: InferResult;
}

export interface TensorInfo {
  readonly name: string;
  readonly datatype: string;
  /** -1 marks a dynamic dimension. */
  readonly shape: readonly number[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
}

export interface CapabilityProvider {
  readonly peerId: string;
  readonly model: string;
  readonly version: string;
  readonly provider: string;
  readonly price: number;
  readonly local: boolean;
  readonly ready: boolean;
  readonly hops: number;
  readonly expectedMs: number;
  readonly nextHop: string;
}

export interface Capability {
  readonly name: string;
  readonly providers: readonly CapabilityProvider[];
}

export interface Route {
  readonly origin: string;
  readonly model: string;
  readonly version: string;
  readonly capabilities: readonly string[];
  readonly nextHop: string;
  readonly hops: number;
  readonly pathLatencyMs: number;
  readonly computeMs: number;
  readonly queueWaitMs: number;
  readonly expectedMs: number;
  readonly price: number;
  readonly provider: string;
  /** Decimal string: a uint64 on the wire. */
  readonly seqno: string;
  readonly expiresInMs: number;
  readonly local: boolean;
}

export interface Peer {
  readonly peerId: string;
  readonly neighbour: boolean;
  readonly rttMs: number;
  readonly addrs: readonly string[];
}

export interface HostedModel {
  readonly name: string;
  readonly version: string;
  readonly capabilities: readonly string[];
  readonly platform: string;
  readonly requestedProvider: string;
  readonly provider: string;
  readonly price: number;
  readonly ready: boolean;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
}

export interface NodeInfo {
  /** Empty when the node runs without libp2p. */
  readonly peerId: string;
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly grpcAddress: string;
  readonly models: readonly HostedModel[];
  readonly listenAddrs: readonly string[];
  readonly capabilities: readonly string[];
  readonly routingPolicy: string;
  readonly routeOnly: boolean;
}

export interface StreamOptions extends CallOptions {
  /** Requests sent but not yet taken from the iterator; sending waits beyond it. Default 16. */
  readonly maxInFlight?: number;
}

/** One answer on a stream: a result, or the in-band error of that one request. */
export type StreamItem =
  | { readonly ok: true; readonly id: string; readonly index: number; readonly result: InferResult }
  | { readonly ok: false; readonly id: string; readonly index: number; readonly error: PlexusClientError };
