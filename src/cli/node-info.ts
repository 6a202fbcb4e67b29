// `plexus node info`: what a running node is and hosts (plexus.v1.Plexus/GetNode).
import { parseArgs } from 'node:util';
import { EXIT_OK, UsageError } from './cli-error.ts';
import { AUTH_HELP, AUTH_OPTIONS, clientAuth } from './connect-auth.ts';
import { connect, unary } from './client.ts';
import type { WireGetNodeResponse } from '../wire/plexus-messages.ts';

export const NODE_INFO_HELP = `Usage: plexus node info --target HOST:PORT [--json] [--timeout-ms N]

Show a running node's peer id, version, uptime, gRPC address and hosted models.

Options:
  --target HOST:PORT   the node's gRPC address (required)
  --json               print the GetNode response as one JSON line
  --timeout-ms N       deadline for the call (default 5000)
${AUTH_HELP}  -h, --help           show this help
`;


/** The flags every command that asks one node something shares. */
export const TARGET_OPTIONS = {
  target: { type: 'string' },
  json: { type: 'boolean', default: false },
  'timeout-ms': { type: 'string', default: '5000' },
  help: { type: 'boolean', short: 'h', default: false },
  ...AUTH_OPTIONS,
} as const;

export async function runNodeInfo(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: TARGET_OPTIONS,
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(NODE_INFO_HELP);
    return EXIT_OK;
  }
  if (values.target === undefined) throw new UsageError('--target HOST:PORT is required');
  const timeoutMs = parseTimeout(values['timeout-ms']);
  const clients = connect(values.target, clientAuth(values));
  try {
    const info = await unary<object, WireGetNodeResponse>(clients.plexus, 'GetNode', {}, timeoutMs);
    process.stdout.write(values.json ? `${JSON.stringify(info)}\n` : formatNodeInfo(info));
    return EXIT_OK;
  } finally {
    clients.close();
  }
}

export function parseTimeout(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 3_600_000) throw new UsageError(`--timeout-ms: expected an integer 1..3600000, got '${text}'`);
  return n;
}

function formatNodeInfo(info: WireGetNodeResponse): string {
  const lines = [
    `peer id:  ${info.peer_id || '(none: libp2p not enabled)'}`,
    `version:  ${info.version}`,
    `uptime:   ${info.uptime_seconds.toFixed(1)}s`,
    `grpc:     ${info.grpc_address}`,
    `models:   ${info.models.length === 0 ? 'none' : ''}`,
  ];
  for (const m of info.models) {
    const provider = m.provider === m.requested_provider ? m.provider : `${m.provider} (asked ${m.requested_provider})`;
    const caps = m.capabilities.length ? ` [${m.capabilities.join(', ')}]` : '';
    lines.push(`  ${m.name} v${m.version}  ${m.platform}  ${provider}  price ${m.price}  ${m.ready ? 'ready' : 'NOT READY'}${caps}`);
  }
  return `${lines.join('\n')}\n`;
}
