// bare-servers.ts's servers in a process of their own, as a Plexus daemon always is.
// `bare-child.ts model` (in a worker thread), `bare-child.ts model-inline` (on the event loop),
// or `bare-child.ts relay <libp2p echo multiaddrs, JSON>`. Prints one
// line `READY {"grpc": ADDRESS}`; exits when stdin closes or on SIGTERM.
import { startBareModelServer, startBareRelay } from './bare-servers.ts';

const [mode, addrs] = process.argv.slice(2);
const server = mode === 'model' || mode === 'model-inline'
  ? await startBareModelServer(mode === 'model' ? 'worker' : 'inline')
  : mode === 'relay' && addrs !== undefined
    ? await startBareRelay(JSON.parse(addrs) as string[])
    : (() => { throw new Error('usage: bare-child.ts model | model-inline | relay <multiaddrs JSON>'); })();
process.stdout.write(`READY ${JSON.stringify({ grpc: server.address })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  server.close().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
