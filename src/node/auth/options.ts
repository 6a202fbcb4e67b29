// The trust options (private swarm, peer lists, TLS, tokens, model directories), compiled with
// the rest of the node options (src/node/options.ts spreads these schemas into its own). Paths
// are resolved here, files are read when the node starts (a missing key file fails the start,
// naming the flag), so compiling never touches secrets.
import path from 'node:path';
import { peerIdFromString } from '@libp2p/peer-id';
import * as z from 'zod';
import { ConfigError } from '../../errors.ts';

/** Who may join the swarm, and what the operator allowed. */
export interface MembershipOptions {
  /** Absolute path of the swarm key file (libp2p pnet, /key/swarm/psk/1.0.0/); absent = no private network. */
  readonly swarmKeyFile?: string;
  /** Only these peer ids may connect (inbound and outbound); empty = anyone (with the key). */
  readonly allow: readonly string[];
  /** These peer ids may never connect; checked before the allow-list. */
  readonly deny: readonly string[];
  /** The operator wants an open swarm on a non-loopback address (--open / node.p2p.open). */
  readonly open: boolean;
  /** The lists came from --allow-peer/--deny-peer: a config file change does not replace them. */
  readonly listsFromFlags: boolean;
}

export interface TlsOptions {
  readonly cert: string;
  readonly key: string;
  /** Mutual TLS: clients must present a certificate signed by this CA. */
  readonly clientCa?: string;
}

/** What callers (gRPC and HTTP) must show, and where loads may read model files. */
export interface SecurityOptions {
  /** Serve plaintext without tokens on a non-loopback gRPC/HTTP address (--open / node.auth.open). */
  readonly open: boolean;
  readonly tls?: TlsOptions;
  /** Absolute path of the tokens file (hashes only); absent = no caller authentication. */
  readonly tokensFile?: string;
  /** Model repository loads may only name files under these directories (absolute). */
  readonly modelDirs: readonly string[];
}

export interface SecurityFlags {
  readonly swarmKey?: string;
  readonly allowPeer?: readonly string[];
  readonly denyPeer?: readonly string[];
  readonly open?: boolean;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsClientCa?: string;
  readonly tokens?: string;
  readonly modelDir?: readonly string[];
}

const filePath = z.string().min(1).max(4096);
const peerId = z.string().max(128).refine((s) => {
  try {
    peerIdFromString(s);
    return true;
  } catch {
    return false;
  }
}, 'expected a libp2p peer id (12D3KooW…)');
const peerList = z.array(peerId).max(4096);

/** Spread into the config file's node.p2p section. */
export const P2P_SECURITY_FIELDS = {
  swarmKey: filePath.optional(),
  allow: peerList.optional(),
  deny: peerList.optional(),
  open: z.boolean().optional(),
};

/** Spread into the config file's node section. */
export const NODE_SECURITY_FIELDS = {
  auth: z.strictObject({ tokensFile: filePath.optional(), open: z.boolean().optional() }).optional(),
  tls: z.strictObject({ cert: filePath, key: filePath, clientCa: filePath.optional() }).optional(),
  repository: z.strictObject({ modelDirs: z.array(filePath).max(64).optional() }).optional(),
};

type P2PSection = { [K in keyof typeof P2P_SECURITY_FIELDS]?: z.output<(typeof P2P_SECURITY_FIELDS)[K]> };
type NodeSection = { [K in keyof typeof NODE_SECURITY_FIELDS]?: z.output<(typeof NODE_SECURITY_FIELDS)[K]> };

export interface SecurityCompileInput {
  readonly flags: SecurityFlags;
  readonly node: NodeSection;
  readonly p2p: P2PSection;
  /** Where relative paths in the file resolve (the config file's directory). */
  readonly fileDir: string;
  /** Where relative paths in flags resolve. */
  readonly cwd: string;
}

function checkFlagPeers(flag: string, ids: readonly string[] | undefined): readonly string[] | undefined {
  if (ids === undefined || ids.length === 0) return undefined;
  for (const id of ids) {
    const r = peerId.safeParse(id);
    if (!r.success) throw new ConfigError(`${flag}: '${id}' is not a libp2p peer id (expected 12D3KooW…)`);
  }
  return ids;
}

export function compileMembership(input: SecurityCompileInput): MembershipOptions {
  const { flags, p2p, fileDir, cwd } = input;
  const allowFlag = checkFlagPeers('--allow-peer', flags.allowPeer);
  const denyFlag = checkFlagPeers('--deny-peer', flags.denyPeer);
  const key = flags.swarmKey !== undefined ? path.resolve(cwd, flags.swarmKey) : p2p.swarmKey === undefined ? undefined : path.resolve(fileDir, p2p.swarmKey);
  return {
    ...(key === undefined ? {} : { swarmKeyFile: key }),
    allow: allowFlag ?? p2p.allow ?? [],
    deny: denyFlag ?? p2p.deny ?? [],
    open: flags.open ?? p2p.open ?? false,
    listsFromFlags: allowFlag !== undefined || denyFlag !== undefined,
  };
}

export function compileSecurity(input: SecurityCompileInput): SecurityOptions {
  const { flags, node, fileDir, cwd } = input;
  const fromFlag = (v: string | undefined): string | undefined => (v === undefined ? undefined : path.resolve(cwd, v));
  const fromFile = (v: string | undefined): string | undefined => (v === undefined ? undefined : path.resolve(fileDir, v));
  const cert = fromFlag(flags.tlsCert) ?? fromFile(node.tls?.cert);
  const key = fromFlag(flags.tlsKey) ?? fromFile(node.tls?.key);
  const clientCa = fromFlag(flags.tlsClientCa) ?? fromFile(node.tls?.clientCa);
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('--tls-cert and --tls-key go together (node.tls.cert and node.tls.key)');
  if (clientCa !== undefined && cert === undefined) throw new ConfigError('--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS first)');
  const tokensFile = fromFlag(flags.tokens) ?? fromFile(node.auth?.tokensFile);
  const dirs = flags.modelDir !== undefined && flags.modelDir.length > 0
    ? flags.modelDir.map((d) => path.resolve(cwd, d))
    : (node.repository?.modelDirs ?? ['.']).map((d) => path.resolve(fileDir, d));
  return {
    open: flags.open ?? node.auth?.open ?? false,
    ...(cert === undefined || key === undefined ? {} : { tls: { cert, key, ...(clientCa === undefined ? {} : { clientCa }) } }),
    ...(tokensFile === undefined ? {} : { tokensFile }),
    modelDirs: dirs,
  };
}
