// The routes protocol's interface to the node (src/node/p2p/service.ts): what it is built from
// and what it answers. The implementation is src/node/p2p/routes-protocol.ts (the libp2p
// adapter) over src/routing/routes-core.ts (the decisions).
import type { PrivateKey } from '@libp2p/interface';
import type { Logger } from '../../logger.ts';
import type { PeerLimits } from '../../routing/peer-limits.ts';
import type { RoutesTable } from '../../routing/routes-core.ts';
import type { RoutesTimingInput } from '../../routing/routes-timing.ts';
import type { AdvertisedModel, PeerIdString } from '../../routing/types.ts';
import type { P2PHost } from './host.ts';

export interface RoutesProtocolInit extends RoutesTimingInput {
  readonly host: P2PHost;
  readonly table: RoutesTable;
  readonly privateKey: PrivateKey;
  readonly logger: Logger;
  /** What this node hosts right now (read on every advert). */
  readonly localModels: () => readonly AdvertisedModel[];
  /** Frame, advert, rate and dial-hint bounds (default DEFAULT_PEER_LIMITS); maxFrameBytes applies to frames sent and received. */
  readonly limits?: PeerLimits;
}

export interface NeighbourInfo {
  readonly peer: PeerIdString;
  readonly rttMs: number;
  readonly since: number;
}

export interface RoutesProtocol {
  neighbours(): readonly NeighbourInfo[];
  isNeighbour(peer: PeerIdString): boolean;
  /** When a (non-retracting) update about `origin` last came from `neighbour`, epoch ms. */
  lastHeard(origin: PeerIdString, neighbour: PeerIdString): number | undefined;
  /** Local models may have changed: re-advertise soon if they did in a way routing cares about (advertChange). */
  localChanged(): void;
  /** The table changed outside this protocol (a measured path floor): send what changed at once. */
  tableChanged(): void;
  /** Sizes of the per-origin and per-peer state this protocol keeps (bounds checks, tests). */
  stateSizes(): { sigs: number; sigOrigins: number; addrHints: number; heard: number; dials: number; rateBuckets: number; strikes: number };
  start(): Promise<void>;
  /** Send a withdrawal (new seq, no models) to every neighbour, then stop. */
  stop(): Promise<void>;
}
