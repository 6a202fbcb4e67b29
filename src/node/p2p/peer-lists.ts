// Which peer ids may connect: the deny-list wins, then an allow-list (when not empty) must name
// the peer. Pure, shared by the connection gater and the exposure check.

export interface PeerLists {
  readonly allow: ReadonlySet<string>;
  readonly deny: ReadonlySet<string>;
}

export function peerLists(allow: readonly string[], deny: readonly string[]): PeerLists {
  return { allow: new Set(allow), deny: new Set(deny) };
}

export function permitted(lists: PeerLists, peer: string): boolean {
  if (lists.deny.has(peer)) return false;
  return lists.allow.size === 0 || lists.allow.has(peer);
}
