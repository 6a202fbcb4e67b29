// The connection gater: peer allow- and deny-lists by peer id, enforced by libp2p on dials and
// on both inbound and outbound connections once Noise has proven the remote's id. The lists
// can be replaced at run time (a config file change): connections of peers no longer
// permitted are closed at once. It also marks every connection that got this far, which is how
// the swarm key protector tells a refused handshake from a closed connection.
import type { ConnectionGater, PeerId } from '@libp2p/interface';
import { permitted, type PeerLists } from './peer-lists.ts';
import type { RefusalLog } from './refusal-log.ts';

export interface PeerGater {
  readonly gater: ConnectionGater;
  /** Connections that passed encryption (whatever the lists said). */
  accepted(conn: object): boolean;
  lists(): PeerLists;
  /** Replace the lists; returns the connected peers that are no longer permitted. */
  update(lists: PeerLists, connected: readonly string[]): string[];
}

export function createPeerGater(initial: PeerLists, refusals: RefusalLog): PeerGater {
  let current = initial;
  const seen = new WeakSet<object>();
  const deny = (peer: PeerId, why: string): boolean => {
    const id = peer.toString();
    if (permitted(current, id)) return false;
    refusals.refused(id, why);
    return true;
  };
  const encrypted = (direction: string) => (peer: PeerId, maConn: object): boolean => {
    seen.add(maConn);
    return deny(peer, `peer id not permitted (${direction}, ${current.deny.has(peer.toString()) ? 'deny-list' : 'not on the allow-list'})`);
  };
  return {
    gater: {
      denyDialPeer: (peer) => deny(peer, 'dial to a peer id that is not permitted'),
      denyInboundEncryptedConnection: encrypted('inbound'),
      denyOutboundEncryptedConnection: encrypted('outbound'),
    },
    accepted: (conn) => seen.has(conn),
    lists: () => current,
    update(lists, connected) {
      current = lists;
      return connected.filter((p) => !permitted(lists, p));
    },
  };
}
