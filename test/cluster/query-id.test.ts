// One query id follows a query across every hop: a static line A–B–C with the model on C,
// each node logging JSON at debug level into its own buffer; the id the entry node gave the
// query appears in the log lines of all three nodes.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infer, originsFor, paramString, rawVadModel, removeTempDirs, startClusterNode, waitFor, type ClusterNode } from './helpers.ts';

interface LogLine { queryId?: string; msg?: string }

function capturingLogger(lines: LogLine[]): pino.Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return pino({ level: 'debug' }, sink);
}

const logs: LogLine[][] = [[], [], []];
let a: ClusterNode, b: ClusterNode, c: ClusterNode;

beforeAll(async () => {
  c = await startClusterNode({ models: [rawVadModel()], static: true, logger: capturingLogger(logs[2] as LogLine[]) });
  b = await startClusterNode({ noModels: true, static: true, bootstrap: [c.addrs[0] ?? ''], logger: capturingLogger(logs[1] as LogLine[]) });
  a = await startClusterNode({ noModels: true, static: true, bootstrap: [b.addrs[0] ?? ''], logger: capturingLogger(logs[0] as LogLine[]) });
  await waitFor('A learns the route to C', () => originsFor(a, 'speech.vad.raw').has(c.peerId), 10_000);
});

afterAll(async () => {
  await Promise.all([a, b, c].filter((n) => n !== undefined).map((n) => n.close()));
  removeTempDirs();
});

describe('query id across hops', () => {
  it('appears in the logs of the entry node, the relay and the provider', async () => {
    const res = await infer(a, {});
    expect(paramString(res.parameters, 'plexus.route')).toBe(`${a.peerId},${b.peerId},${c.peerId}`);
    const routed = logs[0]?.find((l) => l.msg === 'query routed');
    const id = routed?.queryId;
    expect(id).toMatch(/.+/);
    expect(logs[1]?.some((l) => l.queryId === id && l.msg === 'forwarded query: passing on')).toBe(true);
    expect(logs[2]?.some((l) => l.queryId === id && l.msg === 'forwarded query: running here')).toBe(true);
  });
});
