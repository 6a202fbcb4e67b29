// Secure by default: a node reachable from other machines must say who may use it. A libp2p
// listen address that is not loopback needs a swarm key or a peer allow-list; a gRPC or HTTP
// address that is not loopback needs TLS or tokens; `--open` says the operator wants it open.
// Pure: the daemon refuses to start with these reasons before binding anything.
import { formatHostPort, type HostPort } from '../../wire/address.ts';
import type { NodeOptions } from '../options.ts';

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

/** /ip4/127.0.0.1/tcp/4001, /ip6/::1/…, /dns4/localhost/… are loopback; anything else is not. */
export function isLoopbackMultiaddr(addr: string): boolean {
  const parts = addr.split('/');
  const proto = parts[1];
  const host = parts[2];
  if (host === undefined) return false;
  if (proto === 'ip4' || proto === 'ip6' || proto === 'dns' || proto === 'dns4' || proto === 'dns6') return isLoopbackHost(host);
  return false;
}

const P2P_HELP = 'no swarm key (--swarm-key / node.p2p.swarmKey) or peer allow-list (--allow-peer / node.p2p.allow) says who may join; '
  + 'pass --open (node.p2p.open: true) to run an open swarm';
const CALLER_HELP = 'neither TLS (--tls-cert/--tls-key) nor tokens (--tokens / node.auth.tokensFile) protect it; '
  + 'pass --open (node.auth.open: true) to serve anyone who can reach it';

/** Why this node must not start as configured; empty when it may. */
export function exposureProblems(options: NodeOptions): string[] {
  const problems: string[] = [];
  const p2p = options.p2p;
  const members = p2p?.members;
  if (p2p !== undefined && members?.open !== true && members?.swarmKeyFile === undefined && (members?.allow.length ?? 0) === 0) {
    const exposed = p2p.listen.filter((a) => !isLoopbackMultiaddr(a));
    if (exposed.length > 0) problems.push(`libp2p listens on ${exposed.join(', ')}, which is not loopback, but ${P2P_HELP}`);
  }
  const security = options.security;
  if (security?.open !== true && security?.tls === undefined && security?.tokensFile === undefined) {
    const callers: [string, HostPort | undefined][] = [['gRPC', options.grpc.address], ['HTTP', options.http?.address]];
    for (const [what, address] of callers) {
      if (address !== undefined && !isLoopbackHost(address.host)) {
        problems.push(`${what} listens on ${formatHostPort(address)}, which is not loopback, but ${CALLER_HELP}`);
      }
    }
  }
  return problems;
}

/** The refusal, one line per problem. */
export function exposureRefusal(problems: readonly string[]): string {
  return `refusing to start: ${problems.join('; and ')}`;
}
