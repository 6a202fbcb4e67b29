// The bare gRPC and libp2p echo servers in a process of their own, so the limits scenario can
// measure round trips between two processes, as every Plexus query makes. With the argument
// `node-stack` its libp2p echo is built as a Plexus node's host is (echo-servers.ts). Prints one line
// `READY {"grpc": ADDRESS, "libp2p": [MULTIADDR...]}`; exits when stdin closes or on SIGTERM.
import { startGrpcEcho, startLibp2pEcho } from './echo-servers.ts';

const grpcEcho = await startGrpcEcho();
const p2pEcho = await startLibp2pEcho(process.argv[2] === 'node-stack' ? 'node' : 'defaults');
process.stdout.write(`READY ${JSON.stringify({ grpc: grpcEcho.address, libp2p: p2pEcho.addrs })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  Promise.all([grpcEcho.close(), p2pEcho.close()]).then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
