// The pure trust rules: exposure (secure by default), roles per call, budgets and rates,
// the refusal log's rate limit, swarm key and tokens file parsing, peer lists, model paths.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, PermissionDeniedError } from '../../../src/errors.ts';
import { silentLogger } from '../../../src/logger.ts';
import { grpcAccess, httpAccess } from '../../../src/node/auth/access.ts';
import { createBudgets } from '../../../src/node/auth/budgets.ts';
import { exposureProblems, isLoopbackHost, isLoopbackMultiaddr } from '../../../src/node/auth/exposure.ts';
import { checkModelPath } from '../../../src/node/auth/model-dirs.ts';
import { generateToken, parseTokens, sha256Hex } from '../../../src/node/auth/tokens.ts';
import { compileNodeOptions } from '../../../src/node/options.ts';
import { peerLists, permitted } from '../../../src/node/p2p/peer-lists.ts';
import { createRefusalLog } from '../../../src/node/p2p/refusal-log.ts';
import { generateSwarmKey, parseSwarmKey } from '../../../src/node/p2p/swarm-key.ts';

const env = { cwd: '/srv/plexus', home: '/home/p' };
const PEER = '12D3KooWM2GGq7Aat1G8GxFxd5LQxUDaqTFzuGkcnU7qi9W4UNc4';

describe('secure by default', () => {
  it('the defaults are loopback and start; exposed listeners need a key/allow-list or TLS/tokens, or --open', () => {
    expect(exposureProblems(compileNodeOptions({}, env))).toEqual([]);
    expect(compileNodeOptions({}, env).p2p?.listen).toEqual(['/ip4/127.0.0.1/tcp/4001']);
    const exposed = { grpc: '0.0.0.0:8001', http: '[::]:8000', listen: ['/ip4/0.0.0.0/tcp/4001'] };
    expect(exposureProblems(compileNodeOptions(exposed, env))).toHaveLength(3);
    expect(exposureProblems(compileNodeOptions({ ...exposed, open: true }, env))).toEqual([]);
    expect(exposureProblems(compileNodeOptions({ ...exposed, swarmKey: 'k', tokens: 't' }, env))).toEqual([]);
    expect(exposureProblems(compileNodeOptions({ ...exposed, allowPeer: [PEER], tlsCert: 'c', tlsKey: 'k' }, env))).toEqual([]);
    expect(exposureProblems(compileNodeOptions({ ...exposed, swarmKey: 'k' }, env)).join('\n')).toMatch(/^gRPC listens on 0\.0\.0\.0:8001.*\nHTTP listens on \[::\]:8000/);
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com']) expect(isLoopbackHost(h), h).toBe(false);
    expect(isLoopbackMultiaddr('/ip6/::1/tcp/1')).toBe(true);
    expect(isLoopbackMultiaddr('/dns4/localhost/tcp/1')).toBe(true);
    expect(isLoopbackMultiaddr('/ip4/192.168.1.2/tcp/1')).toBe(false);
  });

  it('options: file fields resolve against the file, flags override, bad peer ids are named', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'plexus-opt-'));
    const config = path.join(dir, 'plexus.yaml');
    writeFileSync(config, `node:\n  p2p: {swarmKey: swarm.key, allow: [${PEER}], open: true}\n  auth: {tokensFile: tokens.yaml}\n  tls: {cert: c.pem, key: k.pem, clientCa: ca.pem}\n  repository: {modelDirs: [models]}\n`);
    const o = compileNodeOptions({ config }, env);
    expect(o.p2p?.members).toEqual({ swarmKeyFile: path.join(dir, 'swarm.key'), allow: [PEER], deny: [], open: true, listsFromFlags: false });
    expect(o.security).toEqual({ open: false, tokensFile: path.join(dir, 'tokens.yaml'), tls: { cert: path.join(dir, 'c.pem'), key: path.join(dir, 'k.pem'), clientCa: path.join(dir, 'ca.pem') }, modelDirs: [path.join(dir, 'models')] });
    expect(compileNodeOptions({ config, denyPeer: [PEER] }, env).p2p?.members?.listsFromFlags).toBe(true);
    expect(() => compileNodeOptions({ allowPeer: ['nope'] }, env)).toThrow(/--allow-peer: 'nope' is not a libp2p peer id/);
    expect(() => compileNodeOptions({ tlsClientCa: 'ca.pem' }, env)).toThrow(ConfigError);
  });
});

describe('roles per call', () => {
  it('health open, repository load/unload admin, everything else query', () => {
    expect(grpcAccess('grpc.health.v1.Health', 'Check')).toBe('open');
    expect(grpcAccess('inference.GRPCInferenceService', 'RepositoryModelLoad')).toBe('admin');
    expect(grpcAccess('inference.GRPCInferenceService', 'RepositoryIndex')).toBe('query');
    expect(grpcAccess('plexus.v1.Plexus', 'GetRoutes')).toBe('query');
    expect(httpAccess('/v2/health/ready')).toBe('open');
    expect(httpAccess('/v2/repository/models/x/unload')).toBe('admin');
    expect(httpAccess('/metrics')).toBe('query');
    expect(httpAccess('/')).toBe('query');
  });
});

describe('budgets', () => {
  it('a rate of 2/s admits a burst of 2, then one more per 500 ms', () => {
    let t = 1_000_000;
    const b = createBudgets(() => t);
    const limits = { ratePerSecond: 2 };
    b.admit('a', limits);
    b.admit('a', limits);
    expect(() => b.admit('a', limits)).toThrow(/over its rate of 2 requests\/s; it resets in 500 ms/);
    t += 500;
    b.admit('a', limits);
    expect(() => b.admit('a', limits)).toThrow(/resets in/);
  });

  it('a cost budget refuses once spent and resets with the window', () => {
    let t = 0;
    const b = createBudgets(() => t);
    const limits = { budget: { cost: 3, perSeconds: 10 } };
    b.admit('a', limits); b.charge('a', limits, 2);
    b.admit('a', limits); b.charge('a', limits, 2);
    t = 4000;
    expect(() => b.admit('a', limits)).toThrow(/spent its cost budget \(4 of 3 per 10 s\); it resets at 1970-01-01T00:00:10\.000Z \(in 6 s\)/);
    b.admit('b', limits);
    t = 10_000;
    b.admit('a', limits);
  });
});

describe('refusal log', () => {
  it('one line per key per window, counting the rest', () => {
    let t = 0;
    const lines: unknown[] = [];
    const logger = { ...silentLogger(), warn: (o: unknown) => { lines.push(o); } } as unknown as Parameters<typeof createRefusalLog>[0]['logger'];
    const log = createRefusalLog({ logger, windowMs: 1000, now: () => t });
    expect(log.refused('1.2.3.4', 'x')).toBe(true);
    expect(log.refused('1.2.3.4', 'x')).toBe(false);
    expect(log.refused('5.6.7.8', 'x')).toBe(true);
    t = 1000;
    expect(log.refused('1.2.3.4', 'x')).toBe(true);
    expect(log.count()).toBe(4);
    expect(lines).toHaveLength(3);
  });
});

describe('files', () => {
  it('swarm keys: generated ones parse; other text is refused naming the line', () => {
    const key = generateSwarmKey();
    expect(key).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/);
    expect(parseSwarmKey(key, 'k').byteLength).toBe(22 + 9 + 64);
    expect(() => parseSwarmKey('/key/swarm/psk/1.0.0/\n/base64/\nxx', 'k')).toThrow(/base16/);
    expect(() => parseSwarmKey('/key/swarm/psk/1.0.0/\n/base16/\nabc', 'k')).toThrow(/64 hex digits/);
  });

  it('tokens: the file holds hashes; a generated token matches its line', () => {
    const { token, entry } = generateToken('alice', 'admin');
    const tokens = parseTokens(`tokens:\n${entry}\n  - {tenant: bob, role: query, sha256: "${'a'.repeat(64)}", budget: {cost: 5, perSeconds: 60}, ratePerSecond: 3}\n`, 'f');
    expect(tokens.get(sha256Hex(token))).toEqual({ tenant: 'alice', role: 'admin' });
    expect(tokens.get('a'.repeat(64))).toEqual({ tenant: 'bob', role: 'query', budget: { cost: 5, perSeconds: 60 }, ratePerSecond: 3 });
    expect(() => parseTokens('tokens:\n  - {tenant: a, role: root, sha256: x}\n', 'f')).toThrow(/tokens\[0\]\.role/);
    expect(() => parseTokens('tokens:\n  - {tenant: a, role: query, sha256: "abc"}\n', 'f')).toThrow(/64 hex digits/);
  });

  it('peer lists: deny wins, an empty allow-list admits everyone', () => {
    expect(permitted(peerLists([], []), 'x')).toBe(true);
    expect(permitted(peerLists(['x'], ['x']), 'x')).toBe(false);
    expect(permitted(peerLists(['y'], []), 'x')).toBe(false);
  });

  it('model paths: inside the directories only, builtin always', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'plexus-md-'));
    mkdirSync(path.join(dir, 'models'));
    const dirs = [path.join(dir, 'models')];
    expect(() => checkModelPath({ path: 'builtin:silero-vad' }, dir, dirs)).not.toThrow();
    expect(() => checkModelPath({ path: 'models/a.onnx' }, dir, dirs)).not.toThrow();
    expect(() => checkModelPath({ path: 'a.onnx' }, dir, dirs)).toThrow(PermissionDeniedError);
    expect(() => checkModelPath({ path: 'models/../../a.onnx' }, dir, dirs)).toThrow(PermissionDeniedError);
    expect(() => checkModelPath({ path: '/etc/passwd' }, dir, dirs)).toThrow(/not under a model directory/);
  });
});
