// `plexus peers`, `plexus routes`, `plexus caps`: what a running node sees of the cluster
// (plexus.v1.Plexus ListPeers, GetRoutes, ListCapabilities), as tables or JSON.
import { parseArgs } from 'node:util';
import { EXIT_OK, UsageError } from './cli-error.ts';
import { AUTH_HELP, clientAuth } from './connect-auth.ts';
import { connect, unary } from './client.ts';
import { parseTimeout, TARGET_OPTIONS } from './node-info.ts';
import type { WireCapability, WireListCapabilitiesResponse, WireGetRoutesResponse, WireListPeersResponse, WirePeer, WireRoute } from '../wire/plexus-messages.ts';

const COMMON_OPTIONS = `  --target HOST:PORT   the node's gRPC address (required)
  --json               print the response as one JSON line
  --timeout-ms N       deadline for the call (default 5000)
${AUTH_HELP}  -h, --help           show this help`;

export const PEERS_HELP = `Usage: plexus peers --target HOST:PORT [--json]

List the peers the node has a libp2p connection to, with round-trip time and whether they
exchange routes with it (neighbour).

Options:
${COMMON_OPTIONS}
`;

export const ROUTES_HELP = `Usage: plexus routes --target HOST:PORT [--model NAME] [--json]

Show the node's routing table: every provider of every model it can reach, with next hop,
hops and each part of the metric (path latency, compute, queue wait, expected total), price.

Options:
  --model NAME         only routes to this model or capability
${COMMON_OPTIONS}
`;

export const CAPS_HELP = `Usage: plexus caps --target HOST:PORT [--local] [--json]

List the capabilities the cluster offers (as seen from the node) and who provides them.

Options:
  --local              only what this node hosts
${COMMON_OPTIONS}
`;


type Kind = 'peers' | 'routes' | 'caps';
const HELP: Record<Kind, string> = { peers: PEERS_HELP, routes: ROUTES_HELP, caps: CAPS_HELP };

/** Peer ids are long; their tail is what people compare (as libp2p's logs do). */
export function shortId(id: string): string {
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}

const f1 = (n: number): string => n.toFixed(1);

/** Left-aligned columns with two spaces between them. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

export function formatRoutes(routes: readonly WireRoute[]): string {
  if (routes.length === 0) return 'no routes\n';
  return table(
    ['MODEL', 'CAPABILITIES', 'ORIGIN', 'NEXT HOP', 'HOPS', 'PATH ms', 'COMPUTE ms', 'QUEUE ms', 'EXPECTED ms', 'PRICE', 'EP', 'SEQ', 'TRUST'],
    routes.map((r) => [
      `${r.model}@${r.version}`, r.capabilities.join(',') || '-', shortId(r.origin), r.local ? 'local' : shortId(r.next_hop), String(r.hops),
      f1(r.path_latency_ms), f1(r.compute_ms), f1(r.queue_wait_ms), f1(r.expected_ms), String(r.price), r.provider, r.seqno, r.trust || 'ok',
    ]),
  );
}

function formatPeers(peers: readonly WirePeer[]): string {
  if (peers.length === 0) return 'no peers\n';
  return table(['PEER', 'NEIGHBOUR', 'RTT ms', 'TRUST', 'ADDRESS'], peers.map((p) => [p.peer_id, p.neighbour ? 'yes' : 'no', f1(p.rtt_ms), p.trust || 'ok', p.addrs.join(' ')]));
}

function formatCaps(caps: readonly WireCapability[]): string {
  if (caps.length === 0) return 'no capabilities\n';
  const rows = caps.flatMap((c) => c.providers.map((p) => [
    c.name, `${p.model}@${p.version}`, p.local ? 'local' : shortId(p.peer_id), String(p.hops), f1(p.expected_ms), String(p.price), p.provider,
  ]));
  return table(['CAPABILITY', 'MODEL', 'PROVIDER', 'HOPS', 'EXPECTED ms', 'PRICE', 'EP'], rows);
}

export async function runClusterCommand(kind: Kind, args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      ...TARGET_OPTIONS,
      ...(kind === 'routes' ? { model: { type: 'string' as const } } : {}),
      ...(kind === 'caps' ? { local: { type: 'boolean' as const, default: false } } : {}),
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) {
    process.stdout.write(HELP[kind]);
    return EXIT_OK;
  }
  if (typeof values.target !== 'string') throw new UsageError(`--target HOST:PORT is required (see plexus ${kind} --help)`);
  const timeoutMs = parseTimeout(String(values['timeout-ms']));
  const json = values.json === true;
  const clients = connect(values.target, clientAuth(values));
  try {
    let text: string;
    let body: unknown;
    if (kind === 'peers') {
      const res = await unary<object, WireListPeersResponse>(clients.plexus, 'ListPeers', {}, timeoutMs);
      body = res;
      text = formatPeers(res.peers);
    } else if (kind === 'routes') {
      const model = typeof values.model === 'string' ? values.model : '';
      const res = await unary<object, WireGetRoutesResponse>(clients.plexus, 'GetRoutes', { model }, timeoutMs);
      body = res;
      text = formatRoutes(res.routes);
    } else {
      const res = await unary<object, WireListCapabilitiesResponse>(clients.plexus, 'ListCapabilities', { local_only: values.local === true }, timeoutMs);
      body = res;
      text = formatCaps(res.capabilities);
    }
    process.stdout.write(json ? `${JSON.stringify(body)}\n` : text);
    return EXIT_OK;
  } finally {
    clients.close();
  }
}
