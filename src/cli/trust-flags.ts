// The trust flags of `node start` (swarm key, peer lists, TLS, tokens, model dirs, --open) as
// NodeFlags; kept apart so node-start.ts stays a list of the other flags.
import type { SecurityFlags } from '../node/auth/options.ts';

export interface TrustFlagValues {
  readonly 'swarm-key'?: string;
  readonly 'allow-peer'?: string[];
  readonly 'deny-peer'?: string[];
  readonly 'tls-cert'?: string;
  readonly 'tls-key'?: string;
  readonly 'tls-client-ca'?: string;
  readonly tokens?: string;
  readonly 'model-dir'?: string[];
  readonly open?: boolean;
}

export function trustFlags(v: TrustFlagValues): SecurityFlags {
  return {
    ...(v['swarm-key'] === undefined ? {} : { swarmKey: v['swarm-key'] }),
    ...(v['allow-peer'] === undefined ? {} : { allowPeer: v['allow-peer'] }),
    ...(v['deny-peer'] === undefined ? {} : { denyPeer: v['deny-peer'] }),
    ...(v['tls-cert'] === undefined ? {} : { tlsCert: v['tls-cert'] }),
    ...(v['tls-key'] === undefined ? {} : { tlsKey: v['tls-key'] }),
    ...(v['tls-client-ca'] === undefined ? {} : { tlsClientCa: v['tls-client-ca'] }),
    ...(v.tokens === undefined ? {} : { tokens: v.tokens }),
    ...(v['model-dir'] === undefined ? {} : { modelDir: v['model-dir'] }),
    ...(v.open === undefined ? {} : { open: v.open }),
  };
}
