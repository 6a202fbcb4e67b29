// Checks of user-given multiaddrs, run while options compile (before anything binds), so a
// typo fails at start with the reason instead of as a silent dial loop later.
// Our only transport is TCP, so every address must name a host and a TCP port.
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';

interface Component { readonly name: string; readonly value?: string | undefined }

function components(s: string): Component[] | string {
  try {
    return multiaddr(s).getComponents();
  } catch (e) {
    return `'${s}' is not a multiaddr (${(e as Error).message})`;
  }
}

const IP_PROTOCOLS = ['ip4', 'ip6'];
const NAME_PROTOCOLS = ['ip4', 'ip6', 'dns', 'dns4', 'dns6'];

function checkTcp(s: string, parts: readonly Component[], hosts: readonly string[]): string | undefined {
  const [host, tcp] = parts;
  if (host === undefined || !hosts.includes(host.name) || tcp?.name !== 'tcp') {
    return `'${s}' must start /${hosts.join('|/')}/HOST/tcp/PORT (TCP is the only transport)`;
  }
  const port = Number(tcp.value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return `'${s}' has no valid TCP port`;
  return undefined;
}

/** Why `s` cannot be a listen address, or undefined when it can. */
export function checkListenAddr(s: string): string | undefined {
  const parts = components(s);
  if (typeof parts === 'string') return parts;
  const why = checkTcp(s, parts, IP_PROTOCOLS);
  if (why !== undefined) return why;
  if (parts.length > 2) return `'${s}' must be just /ip4|/ip6/HOST/tcp/PORT`;
  return undefined;
}

/**
 * Why `s` cannot be a bootstrap address, or undefined when it can. A /p2p/<peer id> suffix is
 * optional (a Kubernetes Service name has no stable peer id; Noise tells us who answered).
 */
export function checkBootstrapAddr(s: string): string | undefined {
  const parts = components(s);
  if (typeof parts === 'string') return parts;
  const why = checkTcp(s, parts, NAME_PROTOCOLS);
  if (why !== undefined) return why;
  if (parts[1]?.value === '0') return `'${s}' has port 0, which cannot be dialled`;
  const rest = parts.slice(2);
  if (rest.length === 0) return undefined;
  const [p2p] = rest;
  if (rest.length > 1 || p2p?.name !== 'p2p') return `'${s}' may end only with /p2p/PEER_ID after the TCP port`;
  try {
    peerIdFromString(p2p.value ?? '');
  } catch {
    return `'${s}' has an invalid peer id '${p2p.value ?? ''}'`;
  }
  return undefined;
}
