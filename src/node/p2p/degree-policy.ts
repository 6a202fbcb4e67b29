// How many neighbours a node keeps. Routing is hop by hop, so a node needs a few neighbours,
// not all of them; yet learned-peer dials (every origin heard of is a dial candidate) made a
// 20-node cluster a near-full mesh, and an idle node's work grows with its neighbours times
// the origins each one re-sends (route refreshes, pings, route selection over every neighbour).
//
// - dialling: learned peers are dialled only while connected and in-flight peers number fewer
//   than the target (host.ts);
// - bootstrap peers are redialled while the node has fewer neighbours than the target (to join
//   and to rejoin), not to hold a link the mesh no longer needs;
// - trimming: a node with more neighbours than the target closes, one at a time, the link to a
//   neighbour that (a) is not protected (bootstrap, allow-listed, in use for a route to a
//   model), (b) has been connected a while, (c) keeps at least the target without us, by its
//   own route updates (the origins it offers at one hop are its neighbours), so it does not dial
//   again (no churn), and (d) is reachable without our link: another neighbour offers it at
//   one hop, so the link is not a bridge and the mesh stays connected. Among those, the one
//   with the most neighbours goes first (hubs shed links; the rest keep theirs).
// Pure: the host (host.ts) applies it to libp2p with the routing table's view (table.ts
// neighbourLinks).

export interface DegreePolicy {
  /** Neighbours a node dials up to and trims down to. */
  readonly targetPeers: number;
  /** A link younger than this is never trimmed (the routes over it have settled). */
  readonly trimMinAgeMs: number;
}

export const DEFAULT_DEGREE_POLICY: DegreePolicy = { targetPeers: 5, trimMinAgeMs: 20_000 };

/** One connected peer as the policy sees it (its oldest open connection's age). */
export interface PeerLink {
  readonly peer: string;
  readonly openedAt: number;
  readonly protected: boolean;
}

/** What the routing table says about a neighbour (RoutingTable.neighbourLinks). */
export interface NeighbourLinks {
  /** Origins it offers at one hop: its other neighbours, a lower bound. */
  readonly direct: number;
  /** Another neighbour offers it at one hop. */
  readonly detour: boolean;
}

/** Whether a learned peer may be dialled with `connected` peers and `dialling` dials in flight. */
export function mayDialLearned(connected: number, dialling: number, policy: DegreePolicy): boolean {
  return connected + dialling < policy.targetPeers;
}

/** Whether a disconnected bootstrap peer should be redialled now. */
export function mayRedialBootstrap(connected: number, policy: DegreePolicy): boolean {
  return connected < policy.targetPeers;
}

/** The peer whose link to close now, or undefined. */
export function trimVictim(peers: readonly PeerLink[], links: ReadonlyMap<string, NeighbourLinks>, now: number, policy: DegreePolicy): string | undefined {
  if (peers.length <= policy.targetPeers) return undefined;
  let best: { peer: string; direct: number; openedAt: number } | undefined;
  for (const p of peers) {
    if (p.protected || now - p.openedAt < policy.trimMinAgeMs) continue;
    const l = links.get(p.peer);
    // Without us it keeps `direct` neighbours: at least the target, so it does not dial again.
    if (l === undefined || !l.detour || l.direct < policy.targetPeers) continue;
    if (best === undefined || l.direct > best.direct || (l.direct === best.direct && p.openedAt < best.openedAt)) {
      best = { peer: p.peer, direct: l.direct, openedAt: p.openedAt };
    }
  }
  return best?.peer;
}
