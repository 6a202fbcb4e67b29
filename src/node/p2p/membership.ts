// Who may be a member of this node's swarm, as libp2p components: the swarm key protector
// (private network) and the peer-list gater, sharing one rate-limited refusal log. The
// daemon replaces the lists when the config file changes; newly denied peers are hung up.
import type { ConnectionGater, ConnectionProtector, ComponentLogger } from '@libp2p/interface';
import type { Logger } from '../../logger.ts';
import type { MembershipOptions } from '../auth/options.ts';
import { createPeerGater } from './gater.ts';
import { peerLists } from './peer-lists.ts';
import { createRefusalLog, type RefusalLog } from './refusal-log.ts';
import { readSwarmKey, swarmProtector } from './swarm-key.ts';

export interface Membership {
  readonly connectionGater: ConnectionGater;
  readonly connectionProtector?: (components: { logger: ComponentLogger }) => ConnectionProtector;
  readonly refusals: RefusalLog;
  /** On the allow-list (named there, not denied): such peers get the reserved connection slots. */
  allowListed(peer: string): boolean;
  /** Replace the allow/deny lists; hangs up on connected peers no longer permitted. */
  update(allow: readonly string[], deny: readonly string[]): Promise<string[]>;
  /** The running libp2p node (for hanging up); set once it exists. */
  attach(node: MembershipHost): void;
}

export interface MembershipHost {
  connectedPeers(): string[];
  hangUp(peer: string): Promise<void>;
}

/** Reads the swarm key file (ConfigError when missing or malformed). */
export function createMembership(members: MembershipOptions | undefined, logger: Logger): Membership {
  const refusals = createRefusalLog({ logger });
  const gate = createPeerGater(peerLists(members?.allow ?? [], members?.deny ?? []), refusals);
  const psk = members?.swarmKeyFile === undefined ? undefined : readSwarmKey(members.swarmKeyFile);
  let host: MembershipHost | undefined;
  return {
    connectionGater: gate.gater,
    ...(psk === undefined ? {} : { connectionProtector: swarmProtector({ psk, refusals, accepted: (c) => gate.accepted(c) }) }),
    refusals,
    allowListed: (peer) => { const l = gate.lists(); return l.allow.has(peer) && !l.deny.has(peer); },
    attach(node) { host = node; },
    async update(allow, deny) {
      const dropped = gate.update(peerLists(allow, deny), host?.connectedPeers() ?? []);
      for (const peer of dropped) {
        logger.warn({ peer }, 'peer no longer permitted by the allow/deny lists: hanging up');
        await host?.hangUp(peer).catch((e: unknown) => { logger.debug({ peer, err: e }, 'hang up failed'); });
      }
      return dropped;
    },
  };
}
