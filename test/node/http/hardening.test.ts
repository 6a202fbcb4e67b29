// Issue 10, the REST row, on a real daemon (child process, real sockets): slow sockets are
// closed after the header time limit, connections past the cap are refused, a cross-site POST
// to the model repository is refused, and an FP32 value of 1e400 is a 400, not Infinity.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildDaemon, type ChildDaemon } from '../limits-helpers.ts';
import { postJson, request } from './helpers.ts';

const HEADERS_TIMEOUT_MS = 1000;
const MAX_CONNECTIONS = 40;
let d: ChildDaemon;
let base: string;

beforeAll(async () => {
  d = await startChildDaemon({ limits: { httpHeadersTimeoutMs: HEADERS_TIMEOUT_MS, httpRequestTimeoutMs: 2000, httpMaxConnections: MAX_CONNECTIONS } });
  base = `http://${d.http}`;
});
afterAll(async () => { await d.stop(); });

function open(): Promise<{ socket: Socket; closed: Promise<number> }> {
  const [host, port] = d.http.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host ?? '127.0.0.1');
    const closed = new Promise<number>((r) => { socket.once('close', () => r(performance.now())); });
    socket.on('error', () => { /* a refused or reset socket just closes */ });
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

describe('HTTP port hardening', () => {
  it('closes slow sockets that trickle their headers, within the header time limit', async () => {
    const slow = await Promise.all(Array.from({ length: 30 }, () => open()));
    const started = performance.now();
    for (const { socket } of slow) socket.write('POST /v2/models/x/infer HTTP/1.1\r\nHost: a\r\n');
    const trickle = setInterval(() => { for (const { socket } of slow) if (!socket.destroyed) socket.write('X-Slow: 1\r\n'); }, 200);
    try {
      const closedAt = await Promise.all(slow.map((s) => s.closed));
      // The limit, plus the server's check interval and a loaded machine's slack.
      expect(Math.max(...closedAt) - started).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
    } finally {
      clearInterval(trickle);
    }
    expect((await request(`${base}/v2/health/live`)).status).toBe(200);
  }, 20_000);

  it('closes connections past the cap at once and serves again once they go', async () => {
    const idle = await Promise.all(Array.from({ length: MAX_CONNECTIONS + 10 }, () => open()));
    const closedEarly = await Promise.all(idle.map((s) => Promise.race([s.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))])));
    expect(closedEarly.filter(Boolean).length).toBeGreaterThanOrEqual(10);
    for (const { socket } of idle) socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await request(`${base}/v2/health/live`)).status).toBe(200);
  }, 20_000);

  it('refuses a cross-site text/plain POST to the model repository, and form posts', async () => {
    const load = `${base}/v2/repository/models/evil/load`;
    const body = JSON.stringify({ parameters: { config: JSON.stringify({ path: 'builtin:silero-vad' }) } });
    const crossSite = await request(load, { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'http://evil.example' }, body });
    expect(crossSite.status).toBe(403);
    expect(crossSite.json?.error).toMatch(/cross-site request refused: Origin 'http:\/\/evil\.example' is not this node/);
    const fetchSite = await request(load, { method: 'POST', headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' }, body });
    expect(fetchSite.status).toBe(403);
    const browserText = await request(load, { method: 'POST', headers: { 'content-type': 'text/plain', origin: base }, body });
    expect(browserText.status).toBe(415);
    const form = await request(load, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' });
    expect(form.status).toBe(415);
    const index = await request(`${base}/v2/repository/index`, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: '{}' });
    expect(index.status).toBe(200);
    expect(index.json).toEqual([]); // nothing was loaded
  });

  it('accepts only application/json (or no body) on repository POSTs, from any client', async () => {
    const load = `${base}/v2/repository/models/evil/load`;
    const body = JSON.stringify({ parameters: { config: JSON.stringify({ path: 'builtin:silero-vad' }) } });
    // No Origin: a program, or a browser's simple form post that strips it; text/plain is refused either way.
    const plain = await request(load, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body });
    expect(plain.status).toBe(415);
    expect(plain.json?.error).toMatch(/Content-Type 'text\/plain' is not accepted here; send Content-Type: application\/json/);
    const untyped = await request(load, { method: 'POST', body: new Uint8Array(Buffer.from(body)) });
    expect(untyped.status).toBe(415);
    expect(untyped.json?.error).toMatch(/a body without Content-Type is not accepted here/);
    const empty = await request(`${base}/v2/repository/index`, { method: 'POST' });
    expect(empty.status).toBe(200);
    expect(empty.json).toEqual([]); // nothing was loaded by the refused calls
  });

  it('answers 400 for a float that overflows to Infinity (1e400 in FP32, 1e39 too)', async () => {
    for (const value of ['1e400', '1e39', '-1e400']) {
      const res = await request(`${base}/v2/models/anything/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: `{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1, ${value}]}]}`,
      });
      expect(res.status).toBe(400);
      expect(res.json?.error).toMatch(/input 'x': element 1 is a number out of FP32's finite range .*write "Infinity" or "-Infinity"/);
    }
    const fp64 = await postJson(`${base}/v2/models/anything/infer`, { inputs: [{ name: 'x', datatype: 'FP64', shape: [1], data: [1e300] }] });
    expect(fp64.status).toBe(404); // finite FP64: decoded, then no such model
  });
});
