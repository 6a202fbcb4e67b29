// The bare transports the limits scenario measures: a grpc-js unary echo of raw bytes and a
// libp2p (TCP+Noise+Yamux) echo protocol on one long-lived stream. Used in-process and from
// echo-child.ts, so a round trip can be measured within one process and between two (a
// Plexus daemon is always another process, so the second is the like-for-like limit).
import * as grpc from '@grpc/grpc-js';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { transportStack } from '../src/node/p2p/host.ts';

export const ECHO_PROTOCOL = '/plexus-bench/echo/1.0.0';
export const ECHO_PATH = '/plexus.bench.Echo/Echo';
/** Streams of the echo protocol one connection may carry (bare-servers.ts's relay opens one per call in flight). */
export const MAX_ECHO_STREAMS = 256;
const passthrough = (b: Buffer): Buffer => b;
const echoService: grpc.ServiceDefinition = {
  Echo: {
    path: ECHO_PATH, requestStream: false, responseStream: false,
    requestSerialize: passthrough, requestDeserialize: passthrough,
    responseSerialize: passthrough, responseDeserialize: passthrough,
  },
};

export interface Closable { close(): Promise<void> }

export type EchoHandler = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => void;

/** A grpc-js server on 127.0.0.1 with `Echo` answered by `handler` (default: the request itself). */
export async function startGrpcEcho(handler: EchoHandler = (call, cb) => { cb(null, call.request); }): Promise<Closable & { readonly address: string }> {
  const server = new grpc.Server();
  server.addService(echoService, { Echo: handler });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { server.tryShutdown(() => resolve()); }),
  };
}

/** One echo call at a time over one channel. */
export function grpcEchoCaller(address: string, payload: Buffer): Closable & { call(): Promise<void> } {
  const Client = grpc.makeGenericClientConstructor(echoService, 'Echo');
  const client = new Client(address, grpc.credentials.createInsecure());
  return {
    call: () => new Promise((resolve, reject) => {
      client.makeUnaryRequest(ECHO_PATH, passthrough, passthrough, payload, (err) => (err ? reject(err) : resolve()));
    }),
    close: () => { client.close(); return Promise.resolve(); },
  };
}

export async function startLibp2pEcho(stack: Libp2pStack = 'defaults'): Promise<Closable & { readonly node: Libp2p; readonly addrs: string[] }> {
  const node = await libp2pNode(stack);
  await node.handle(ECHO_PROTOCOL, (stream) => {
    stream.addEventListener('message', (evt) => { stream.send(evt.data); });
  }, { maxInboundStreams: MAX_ECHO_STREAMS });
  return { node, addrs: node.getMultiaddrs().map(String), close: async () => { await node.stop(); } };
}

/** 'defaults': TCP, Noise and Yamux as the libraries ship them; 'node': as a Plexus node's host builds them (host.ts, transportStack). */
export type Libp2pStack = 'defaults' | 'node';

export function libp2pNode(stack: Libp2pStack = 'defaults'): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    ...(stack === 'node' ? transportStack() : { transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] }),
  });
}

/** Dial `addrs` from `from` and echo one payload at a time on one stream. */
export async function libp2pEchoCaller(from: Libp2p, addrs: readonly string[], payload: Uint8Array): Promise<Closable & { call(): Promise<void> }> {
  const stream = await from.dialProtocol(addrs.map((a) => multiaddr(a)), ECHO_PROTOCOL);
  const send = echoClient(stream);
  return { call: () => send(payload), close: () => stream.close() };
}

/** Sends one payload and resolves when as many bytes have come back. */
export function echoClient(stream: Stream): (payload: Uint8Array) => Promise<void> {
  let want = 0;
  let got = 0;
  let done: (() => void) | undefined;
  stream.addEventListener('message', (evt) => {
    got += evt.data.byteLength;
    if (done !== undefined && got >= want) { const d = done; done = undefined; d(); }
  });
  return async (payload) => {
    want = payload.byteLength;
    got = 0;
    const p = new Promise<void>((resolve) => { done = resolve; });
    if (!stream.send(payload)) await stream.onDrain();
    await p;
  };
}
