// HOST:PORT parsing and formatting; IPv6 hosts are bracketed ([::1]:8001).
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Undefined when `text` is not HOST:PORT with a port in 0..65535. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (!host || port > 65535) return undefined;
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
