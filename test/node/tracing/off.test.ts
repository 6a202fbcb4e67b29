// Tracing off (the default) costs the query path no span objects: the request that reaches
// inference carries no span handle and the answer no trace id, even when the caller sends a
// traceparent. The same node with an OTLP endpoint hands inference a span and answers with one.
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModelSpecs, createLocalInference } from '../../../src/inference/index.ts';
import type { LocalInference } from '../../../src/inference/types.ts';
import { silentLogger } from '../../../src/logger.ts';
import { createPlexusNode } from '../../../src/node/daemon.ts';
import { compileNodeOptions } from '../../../src/node/options.ts';
import { paramString, rawVadModel, rawVadRequest, removeTempDirs, tempDir, type InferResponse } from '../../cluster/helpers.ts';
import { startOtlpCollector } from '../../cluster/otlp-collector.ts';
import { connectAll } from '../grpc/helpers.ts';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

afterAll(() => { removeTempDirs(); });

/** One query (with a caller's traceparent) at a node whose inference records whether each request held a span. */
async function queryAt(otlpEndpoint: string | undefined): Promise<{ spanHandles: boolean[]; traceId: string | undefined }> {
  const inner = await createLocalInference({ models: compileModelSpecs([rawVadModel()], process.cwd()), logger: silentLogger() });
  const spanHandles: boolean[] = [];
  const inference: LocalInference = { ...inner, infer: (req) => { spanHandles.push(req.trace !== undefined); return inner.infer(req); } };
  const options = compileNodeOptions({
    grpc: '127.0.0.1:0', dataDir: tempDir(), logLevel: 'silent', listen: ['/ip4/127.0.0.1/tcp/0'],
    ...(otlpEndpoint === undefined ? {} : { otlpEndpoint }),
  });
  const node = createPlexusNode(options, { logger: silentLogger(), inference });
  const started = await node.start();
  const clients = connectAll(started.grpc);
  try {
    const md = new grpc.Metadata();
    md.set('traceparent', TRACEPARENT);
    const client = clients.inference as unknown as { ModelInfer: (r: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: InferResponse) => void) => void };
    const res = await new Promise<InferResponse>((resolve, reject) => {
      client.ModelInfer(rawVadRequest('speech.vad.raw'), md, { deadline: Date.now() + 10_000 }, (e, r) => { if (e) reject(e); else resolve(r); });
    });
    return { spanHandles, traceId: paramString(res.parameters, 'plexus.trace_id') };
  } finally {
    clients.close();
    await node.stop();
  }
}

describe('tracing off vs on at one node', () => {
  it('off: inference gets no span handle and the answer no trace id, traceparent or not', async () => {
    expect(await queryAt(undefined)).toEqual({ spanHandles: [false], traceId: undefined });
  });

  it('on: inference gets the span and the answer names the caller\'s trace; the spans reach the collector', async () => {
    const collector = await startOtlpCollector();
    try {
      expect(await queryAt(collector.url)).toEqual({ spanHandles: [true], traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
      const names = collector.spans.map((s) => s.name).sort();
      expect(names).toEqual(['plexus.compute', 'plexus.decode', 'plexus.encode', 'plexus.infer', 'plexus.query', 'plexus.queue_wait', 'plexus.route']);
    } finally {
      await collector.close();
    }
  });
});
